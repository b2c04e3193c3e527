"""LLM answers: requesting them, running a text job, and routing each answer by its uncertainty."""

import itertools
import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from corral.realtime import group_name, group_send
from generation import llm, uncertainty
from generation.models import GenerationJob
from generation.selectors import llm_calls_since
from generation.services import (
    GenerationLimited,
    GenerationRefused,
    job_claim,
    job_enqueue_on_commit,
    job_mark_failed,
    retry_time_text,
)
from labeling.models import Candidate, Project, Task

logger = logging.getLogger(__name__)
_audit_rng = random.SystemRandom()


class TextGenerationError(GenerationRefused):
    """A request that cannot be served as asked; the message says why."""


def llm_stream_group(task_id: int) -> str:
    """The channel-layer group the task page listens on for streamed answers."""
    return group_name("task", task_id, "llm")


def answer_candidate_build(
    *,
    task: Task,
    index: int,
    text: str,
    token_logprobs: list[dict] | None = None,
    model_name: str = "",
    params: dict | None = None,
    given_confidence: float | None = None,
    rng: random.Random | None = None,
) -> Candidate:
    """An unsaved answer candidate with its uncertainty measured and its review state decided."""
    project = task.project
    assessment = uncertainty.assess(
        text=text,
        token_logprobs=token_logprobs,
        hedge_words=project.hedge_word_list,
        given_confidence=given_confidence,
        window=settings.UNCERTAINTY_SPAN_TOKENS,
    )
    routing = uncertainty.route(
        assessment, threshold=project.review_threshold, audit_share=project.audit_share, rng=rng or _audit_rng
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


class TextGenerationLimited(GenerationLimited, TextGenerationError):
    """The user asked for more LLM answers this hour than LLM_MAX_CALLS_PER_HOUR_PER_USER allows."""


def _check_llm_calls(*, user, calls: int) -> None:
    """Refuse ``calls`` more LLM answers when they would take the user past the hourly limit, saying when to retry."""
    limit = settings.LLM_MAX_CALLS_PER_HOUR_PER_USER
    if calls > limit:
        raise TextGenerationLimited(
            f"This task asks for {calls} answers, more than the {limit} LLM calls one person may make in an hour; "
            "ask a manager to queue it."
        )
    now = timezone.now()
    recent = llm_calls_since(user=user, since=now - timedelta(hours=1))
    used = sum(count for _, count in recent)
    if used + calls <= limit:
        return
    # The oldest requests leave the one-hour window first: room is made when enough of them have left.
    still_counted = used
    for requested_at, count in recent:
        still_counted -= count
        if still_counted + calls <= limit:
            retry_at = requested_at + timedelta(hours=1)
            break
    raise TextGenerationLimited(
        f"You have asked for {used} LLM answers in the last hour (the limit is {limit}); "
        f"try again {retry_time_text(retry_at=retry_at, now=now)}.",
        retry_at=retry_at,
    )


def text_generation_request(*, user, task: Task) -> GenerationJob:
    """Queue the answers of one task for a user, within their hourly LLM limit; a task with a pending or
    running job gets that job back."""
    with transaction.atomic():
        # Holding the user's row makes concurrent requests of one user count each other.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        active = _active_job_or_refusal(task=task)
        if active is not None:
            return active
        _check_llm_calls(user=user, calls=task.project.candidates_per_task)
        return text_job_queue(user=user, task=task)


def _active_job_or_refusal(*, task: Task) -> GenerationJob | None:
    """The task's pending or running job; None when a new one may be queued; TextGenerationError when not."""
    project = task.project
    if project.kind != Project.Kind.TEXT:
        raise TextGenerationError(f"{project.name} is an image project; LLM answers are for text projects.")
    if not llm.llm_configured():
        raise TextGenerationError(llm.NOT_CONFIGURED)
    active = task.generation_jobs.filter(status__in=GenerationJob.ACTIVE_STATUSES).first()
    if active is None and task.candidates.count() >= project.candidates_per_task:
        raise TextGenerationError("This task already has all its answers.")
    return active


def text_job_queue(*, user, task: Task) -> GenerationJob:
    """Queue the answers of one task without the per-user hourly limit: for batch operations of managers and
    admins (a project's new tasks, an imported batch)."""
    active = _active_job_or_refusal(task=task)
    if active is not None:
        return active
    project = task.project
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                task=task, kind=GenerationJob.Kind.TEXT, requested_by=user, progress_total=project.candidates_per_task
            )
    except IntegrityError:
        # Another request created the active job between our check and insert.
        return task.generation_jobs.get(status__in=GenerationJob.ACTIVE_STATUSES)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.GENERATING, updated_at=timezone.now())
    job_enqueue_on_commit(job=job)
    return job


def text_generation_enqueue_batch(*, user, project: Project) -> int:
    """Queue answers for every new task of a text project; returns how many jobs were queued.

    A manager's batch is not held to the per-user hourly LLM limit (it counts towards it afterwards).
    """
    if project.kind != Project.Kind.TEXT:
        raise TextGenerationError(f"{project.name} is an image project; LLM answers are for text projects.")
    if not llm.llm_configured():
        raise TextGenerationError(llm.NOT_CONFIGURED)
    queued = 0
    for task in project.tasks.filter(status=Task.Status.NEW).select_related("project").order_by("created_at", "pk"):
        if task.candidates.count() < project.candidates_per_task:
            text_job_queue(user=user, task=task)
            queued += 1
    return queued


@dataclass(frozen=True)
class JobOutcome:
    status: str  # skipped | succeeded | retrying | failed
    retry_in: int | None = None


def retry_countdown(attempt: int) -> int:
    """Seconds before retry number ``attempt + 1``: exponential, capped."""
    return min(settings.LLM_RETRY_MAX_SECONDS, settings.LLM_RETRY_BASE_SECONDS * 2**attempt)


def _job_update(job: GenerationJob, **fields) -> None:
    fields["updated_at"] = timezone.now()
    GenerationJob.objects.filter(pk=job.pk).update(**fields)


def _answer_generate(*, task: Task, index: int, rng: random.Random | None) -> Candidate:
    project = task.project
    group = llm_stream_group(task.pk)
    messages = [{"role": "system", "content": project.system_prompt}] if project.system_prompt else []
    messages.append({"role": "user", "content": task.prompt})
    sequence = itertools.count()
    group_send(group, {"type": "llm.start", "candidate": index})
    result = llm.chat_stream(
        model=project.text_model or settings.OPENAI_MODEL,
        messages=messages,
        temperature=project.temperature,
        max_tokens=project.max_tokens,
        on_delta=lambda text: group_send(
            group, {"type": "llm.delta", "candidate": index, "seq": next(sequence), "text": text}
        ),
    )
    if not result.text.strip():
        message = f"the model returned an empty answer (finish reason: {result.finish_reason})"
        raise llm.LLMError(message, transient=False)
    candidate = answer_candidate_build(
        task=task,
        index=index,
        text=result.text,
        token_logprobs=result.token_logprobs,
        model_name=result.model,
        params={
            "temperature": project.temperature,
            "max_tokens": project.max_tokens,
            "system_prompt": project.system_prompt,
            "logprobs": result.token_logprobs is not None,
            "finish_reason": result.finish_reason,
        },
        rng=rng,
    )
    candidate.save()
    group_send(
        group,
        {
            "type": "llm.done",
            "candidate": index,
            "review_state": candidate.review_state,
            "confidence": candidate.confidence,
        },
    )
    return candidate


def text_job_run(
    *, job_id: int, attempt: int = 0, max_retries: int | None = None, worker: str = "", rng: random.Random | None = None
) -> JobOutcome:
    """Claim a pending text job and produce its missing answers.

    Claiming is one conditional UPDATE, so a second delivery of the same job
    does nothing. A transient error puts the job back to pending with the
    message and asks for a retry; a permanent one (or the last attempt) fails it.
    """
    max_retries = settings.LLM_MAX_RETRIES if max_retries is None else max_retries
    job = job_claim(job_id=job_id, kind=GenerationJob.Kind.TEXT, worker=worker)
    if job is None:
        return JobOutcome("skipped")
    task = job.task
    group = llm_stream_group(task.pk)
    try:
        for index in range(task.project.candidates_per_task):
            # Answers saved by an earlier attempt are kept; only the missing ones are asked for.
            if not task.candidates.filter(index=index).exists():
                _answer_generate(task=task, index=index, rng=rng)
            _job_update(job, progress_step=index + 1)
    except llm.LLMError as error:
        if error.transient and attempt < max_retries:
            countdown = retry_countdown(attempt)
            message = f"Attempt {attempt + 1} of {max_retries + 1} failed ({error.message}); retrying in {countdown} s."
            _job_update(job, status=GenerationJob.Status.PENDING, error_message=message)
            group_send(group, {"type": "llm.status", "status": "retrying", "message": message})
            return JobOutcome("retrying", countdown)
        message = f"Gave up after {attempt + 1} attempts: {error.message}" if error.transient else error.message
        text_job_fail(job_id=job.pk, message=message)
        return JobOutcome("failed")
    except Exception as exc:
        logger.exception("text job %s crashed", job_id)
        text_job_fail(job_id=job.pk, message=f"Internal error: {exc.__class__.__name__}: {exc}")
        raise
    _job_update(job, status=GenerationJob.Status.SUCCEEDED, error_message="", finished_at=timezone.now())
    Task.objects.filter(pk=task.pk).update(status=Task.Status.READY, updated_at=timezone.now())
    group_send(group, {"type": "llm.status", "status": "succeeded", "message": ""})
    return JobOutcome("succeeded")


def text_job_fail(*, job_id: int, message: str) -> bool:
    """Fail a pending or running text job and tell its task page; False when it had already ended."""
    failed = job_mark_failed(job_id=job_id, message=message)
    if failed:
        task_id = GenerationJob.objects.filter(pk=job_id).values_list("task_id", flat=True).get()
        group_send(llm_stream_group(task_id), {"type": "llm.status", "status": "failed", "message": message})
    return failed


def text_generation_retry(*, user, job: GenerationJob) -> GenerationJob:
    """A fresh job for a failed one; the answers it already saved stay."""
    if job.kind != GenerationJob.Kind.TEXT:
        raise TextGenerationError("This is not a text generation job.")
    if job.status != GenerationJob.Status.FAILED:
        raise TextGenerationError("Only a failed job can be retried.")
    return text_generation_request(user=user, task=job.task)
