"""Requests for LLM answers: one task's within the user's hourly limit, a manager's batch, a failed job's retry."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from generation import arena
from generation.models import GenerationJob
from generation.queueing import job_enqueue_on_commit
from generation.selectors import llm_calls_since
from generation.services import GenerationLimited, GenerationRefused, retry_time_text
from labeling.models import Project, Task


class TextGenerationError(GenerationRefused):
    """A request that cannot be served as asked; the message says why."""


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
    if refusal := arena.llm_refusal(project):
        raise TextGenerationError(refusal)
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
    if refusal := arena.llm_refusal(project):
        raise TextGenerationError(refusal)
    queued = 0
    for task in project.tasks.filter(status=Task.Status.NEW).select_related("project").order_by("created_at", "pk"):
        if task.candidates.count() < project.candidates_per_task:
            text_job_queue(user=user, task=task)
            queued += 1
    return queued


def text_generation_retry(*, user, job: GenerationJob) -> GenerationJob:
    """A fresh job for a failed one; the answers it already saved stay."""
    if job.kind != GenerationJob.Kind.TEXT:
        raise TextGenerationError("This is not a text generation job.")
    if job.status != GenerationJob.Status.FAILED:
        raise TextGenerationError("Only a failed job can be retried.")
    return text_generation_request(user=user, task=job.task)
