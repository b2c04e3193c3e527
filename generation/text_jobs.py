"""Running a text job: the LLM's answers, streamed to the task page, each routed by its uncertainty."""

import itertools
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from generation import arena, llm, uncertainty
from generation.answer_checks import answer_check
from generation.jobs import (
    job_announce,
    job_claim,
    job_fail,
    job_progress_record,
    job_retry_later,
    job_succeed,
    llm_stream_group,
)
from generation.models import GenerationJob
from generation.realtime import group_send
from labeling.models import Candidate, Task
from labeling.storable import storable_text

logger = logging.getLogger(__name__)
_audit_rng = random.SystemRandom()

# What a person reads when a job fails in a way nobody foresaw; the details (the exception) go to the worker's log.
UNEXPECTED_FAILURE = (
    "The answers could not be finished because of an unexpected problem on the server; the answers already "
    "saved are kept. Retry; if it fails again, an admin will find the details in the worker log."
)


def answer_candidate_build(
    *,
    task: Task,
    index: int,
    text: str,
    token_logprobs: list[dict] | None = None,
    model_name: str = "",
    params: dict | None = None,
    given_confidence: float | None = None,
    concerns: list[str] | None = None,
    rng: random.Random | None = None,
) -> Candidate:
    """An unsaved answer candidate with its uncertainty measured and its review state decided (``concerns``:
    reasons a person must read it whatever its confidence)."""
    project = task.project
    assessment = uncertainty.assess(
        text=text,
        token_logprobs=token_logprobs,
        hedge_words=project.hedge_word_list,
        given_confidence=given_confidence,
        window=settings.UNCERTAINTY_SPAN_TOKENS,
    )
    routing = uncertainty.route(
        assessment,
        threshold=project.review_threshold,
        audit_share=project.audit_share,
        rng=rng or _audit_rng,
        concerns=concerns or (),
    )
    return Candidate(
        task=task,
        index=index,
        text=text,
        token_logprobs=token_logprobs,
        model_name=model_name,
        params=params or {},
        confidence=assessment.confidence,
        uncertainty=assessment.as_json(),
        review_state=routing.state,
        review_reason=routing.reason,
    )


@dataclass(frozen=True)
class JobOutcome:
    status: str  # skipped | succeeded | retrying | failed
    retry_in: int | None = None


def retry_countdown(attempt: int) -> int:
    """Seconds before retry number ``attempt + 1``: exponential, capped."""
    return min(settings.LLM_RETRY_MAX_SECONDS, settings.LLM_RETRY_BASE_SECONDS * 2**attempt)


def _answer_build(
    *, task: Task, index: int, rng: random.Random | None, model: arena.TextModel | None = None
) -> Candidate:
    """One answer streamed from the LLM to the task's page, as an unsaved candidate. An arena's answers carry the
    arena's name of their model (the server's own name for it is kept in ``params``)."""
    project = task.project
    group = llm_stream_group(task.pk)
    messages = [{"role": "system", "content": project.system_prompt}] if project.system_prompt else []
    messages.append({"role": "user", "content": task.prompt})
    sequence = itertools.count()
    group_send(group, {"type": "llm.start", "candidate": index})
    result = llm.chat_stream(
        model=model.name if model else project.text_model or settings.OPENAI_MODEL,
        server=model.server if model else "",
        messages=messages,
        temperature=project.temperature,
        max_tokens=project.max_tokens,
        on_delta=lambda text: group_send(
            group, {"type": "llm.delta", "candidate": index, "seq": next(sequence), "text": text}
        ),
    )
    checked = answer_check(text=result.text, token_logprobs=result.token_logprobs, finish_reason=result.finish_reason)
    model_name, _ = storable_text(model_spec(model) if model else result.model)
    params = {
        "temperature": project.temperature,
        "max_tokens": project.max_tokens,
        "system_prompt": project.system_prompt,
        "logprobs": checked.token_logprobs is not None,
        "finish_reason": storable_text(result.finish_reason or "")[0],
    }
    if model:
        params["served_model"] = storable_text(result.model)[0]
    if checked.changes:
        params["changed_to_store"] = checked.changes
    return answer_candidate_build(
        task=task,
        index=index,
        text=checked.text,
        token_logprobs=checked.token_logprobs,
        model_name=model_name[: Candidate._meta.get_field("model_name").max_length],
        params=params,
        concerns=checked.concerns,
        rng=rng,
    )


def _answer_done(candidate: Candidate) -> None:
    group_send(
        llm_stream_group(candidate.task_id),
        {
            "type": "llm.done",
            "candidate": candidate.index,
            "review_state": candidate.review_state,
            "confidence": candidate.confidence,
        },
    )


def model_spec(model: arena.TextModel) -> str:
    """A text model as the arena names it (and the leaderboard ranks it)."""
    return f"{model.name}@{model.server}" if model.server else model.name


def _arena_answers_build(*, task: Task, rng: random.Random | None) -> list[Candidate]:
    """All of an arena task's answers, unsaved: one per position, from the models of a shuffled, even split.

    Every model is checked against its server's list first, so a model the server does not offer fails the
    job with its name before anything is asked.
    """
    project = task.project
    models = [arena.TextModel.parse(spec) for spec in project.arena_model_list]
    problems = arena.models_not_offered(models)
    if problems:
        raise llm.LLMError(" ".join(problems) + " Fix the arena's models, then retry.", transient=False)
    plan = arena.arena_plan(models=project.arena_model_list, candidates=project.candidates_per_task)
    return [
        _answer_build(task=task, index=index, rng=rng, model=arena.TextModel.parse(spec))
        for index, spec in enumerate(plan)
    ]


def _answers_generate(*, job: GenerationJob, rng: random.Random | None) -> list[Candidate]:
    """Produce the job's missing answers. An arena's come back unsaved, to be stored together with the job's
    success; other answers are saved one by one, and an earlier attempt's are kept."""
    task = job.task
    if task.project.is_arena:
        return _arena_answers_build(task=task, rng=rng)
    for index in range(task.project.candidates_per_task):
        if not task.candidates.filter(index=index).exists():
            candidate = _answer_build(task=task, index=index, rng=rng)
            candidate.save()
            _answer_done(candidate)
        job_progress_record(job_id=job.pk, step=index + 1)
    return []


def text_job_run(
    *, job_id: int, attempt: int = 0, max_retries: int | None = None, worker: str = "", rng: random.Random | None = None
) -> JobOutcome:
    """Claim a pending text job and produce its missing answers.

    Claiming is one conditional UPDATE, so a second delivery of the same job
    does nothing. A transient error puts the job back to pending with the
    message and asks for a retry; a permanent one (or the last attempt) fails it.
    An arena's answers are stored all at once with the job's success: never a half-filled arena task.
    """
    max_retries = settings.LLM_MAX_RETRIES if max_retries is None else max_retries
    job = job_claim(job_id=job_id, kind=GenerationJob.Kind.TEXT, worker=worker)
    if job is None:
        return JobOutcome("skipped")
    try:
        unsaved = _answers_generate(job=job, rng=rng)
    except llm.LLMError as error:
        if error.transient and attempt < max_retries:
            countdown = retry_countdown(attempt)
            message = f"Attempt {attempt + 1} of {max_retries + 1} failed ({error.message}); retrying in {countdown} s."
            job_retry_later(job=job, message=message)
            return JobOutcome("retrying", countdown)
        message = f"Gave up after {attempt + 1} attempts: {error.message}" if error.transient else error.message
        job_fail(job_id=job.pk, message=message)
        return JobOutcome("failed")
    except Exception:
        logger.exception("text job %s crashed", job_id)
        job_fail(job_id=job.pk, message=UNEXPECTED_FAILURE)
        raise
    with transaction.atomic():
        succeeded = job_succeed(job=job, **({"progress_step": len(unsaved)} if unsaved else {}))
        if succeeded:
            Candidate.objects.bulk_create(unsaved)
    if not succeeded:
        # The stuck-job sweep failed it meanwhile and told the page; the answers saved stay for a retry.
        logger.warning("text job %s was failed while it ran", job_id)
        return JobOutcome("failed")
    for candidate in unsaved:
        _answer_done(candidate)
    job_announce(job=job, status=GenerationJob.Status.SUCCEEDED)
    return JobOutcome("succeeded")
