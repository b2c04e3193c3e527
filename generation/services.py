"""Requests for image generation: the typed prompt, its limits, queueing and retrying a task's images."""

import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from generation import arena, images
from generation.models import GenerationJob
from generation.queueing import job_enqueue_on_commit
from generation.selectors import job_request_times_since, jobs_active_for_user, retry_allowed
from labeling.models import Project, Task


class GenerationRefused(Exception):
    """A generation cannot be started; the message tells the user why and what to do."""


class GenerationLimited(GenerationRefused):
    """The user reached a generation limit; ``retry_at`` says when they may try again, if known."""

    def __init__(self, message: str, retry_at=None):
        super().__init__(message)
        self.retry_at = retry_at


@dataclass
class GenerationRequest:
    task: Task
    job: GenerationJob
    warnings: list[str] = field(default_factory=list)


def _clean_prompt(prompt: str) -> str:
    prompt = (prompt or "").strip()
    if not prompt:
        raise GenerationRefused("Type a prompt first: it is empty.")
    if "\x00" in prompt:
        raise GenerationRefused("The prompt contains a NUL character; remove it and try again.")
    if "\ufffd" in prompt:
        # What a browser's form decoding leaves of bytes that were not UTF-8: the prompt would be stored garbled.
        raise GenerationRefused("The prompt contains characters that were not valid UTF-8 (shown as �); retype them.")
    if len(prompt) > settings.PROMPT_MAX_CHARS:
        raise GenerationRefused(
            f"The prompt is {len(prompt):,} characters; the limit is {settings.PROMPT_MAX_CHARS:,}."
        )
    return prompt


def retry_time_text(*, retry_at, now) -> str:
    """When a refused user may try again, as "in 12 minutes, at 14:05"."""
    minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}, at {timezone.localtime(retry_at):%H:%M}"


def _check_limits(*, user) -> None:
    queued_limit = settings.GENERATION_MAX_QUEUED_PER_USER
    active = jobs_active_for_user(user=user, kind=GenerationJob.Kind.IMAGE)
    queued = active.count()
    if queued >= queued_limit:
        oldest = active.order_by("created_at").values_list("created_at", flat=True).first()
        raise GenerationLimited(
            f"You already have {queued} generation{'s' if queued != 1 else ''} queued or running "
            f"(the limit is {queued_limit}); try again as soon as one of them has finished "
            f"(the oldest was queued at {timezone.localtime(oldest):%H:%M})."
        )
    hourly_limit = settings.GENERATION_MAX_PER_HOUR_PER_USER
    now = timezone.now()
    recent = job_request_times_since(user=user, kind=GenerationJob.Kind.IMAGE, since=now - timedelta(hours=1))
    if len(recent) >= hourly_limit:
        # Enough of the oldest requests must leave the one-hour window to get back under the limit.
        retry_at = recent[len(recent) - hourly_limit] + timedelta(hours=1)
        raise GenerationLimited(
            f"You have started {len(recent)} generations in the last hour (the limit is {hourly_limit}); "
            f"try again {retry_time_text(retry_at=retry_at, now=now)}.",
            retry_at=retry_at,
        )


def _prompt_warnings(*, project: Project, prompt: str) -> list[str]:
    count, readable = images.prompt_token_count(model=images.configured_model(project.image_model), prompt=prompt)
    if count <= readable:
        return []
    return [
        f"The model reads only the first {readable} tokens of a prompt and yours has {count}, "
        "so the end of it is ignored. Shorten the prompt to keep every word."
    ]


def image_generation_start(*, task: Task, requested_by=None) -> GenerationJob:
    """Queue a job that makes the task's candidate images; the worker gets it once the transaction commits."""
    if task.project.kind != Project.Kind.IMAGE:
        raise GenerationRefused(f"{task.project.name} is not an image project.")
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                task=task,
                kind=GenerationJob.Kind.IMAGE,
                requested_by=requested_by,
                progress_total=task.project.image_steps * arena.models_per_task(task.project),
            )
    except IntegrityError:
        raise GenerationRefused("This task is already queued for generation.") from None
    Task.objects.filter(pk=task.pk).update(status=Task.Status.GENERATING, updated_at=timezone.now())
    task.status = Task.Status.GENERATING
    job_enqueue_on_commit(job=job)
    return job


def generation_request(*, user, project: Project, prompt: str) -> GenerationRequest:
    """A task for a prompt the user typed, with its image generation queued.

    Raises GenerationRefused (bad prompt, project without free prompts) or
    GenerationLimited (too many generations queued or this hour).
    """
    prompt = _clean_prompt(prompt)
    if project.kind != Project.Kind.IMAGE:
        raise GenerationRefused(f"{project.name} collects feedback on text answers, not images.")
    if not project.allow_free_prompts:
        raise GenerationRefused(f"{project.name} takes prompts from its queue only; typed prompts are off.")
    warnings = _prompt_warnings(project=project, prompt=prompt)
    with transaction.atomic():
        # Holding the user's row makes concurrent requests of one user count each other.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        _check_limits(user=user)
        task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, created_by=user)
        job = image_generation_start(task=task, requested_by=user)
    return GenerationRequest(task=task, job=job, warnings=warnings)


def generation_requeue(*, task: Task, requested_by=None) -> GenerationJob:
    """A new job for a task whose generation failed."""
    if task.status != Task.Status.FAILED:
        raise GenerationRefused(f"Only failed generations can be retried; this task is {task.get_status_display()}.")
    if task.candidates.exists():
        raise GenerationRefused("This task already has candidates.")
    return image_generation_start(task=task, requested_by=requested_by)


def generation_retry(*, user, task: Task) -> GenerationJob:
    """Retry on behalf of the task's creator or a project manager."""
    if not retry_allowed(user=user, task=task):
        raise PermissionDenied("Only the person who typed this prompt or a project manager can retry it.")
    return generation_requeue(task=task, requested_by=user)
