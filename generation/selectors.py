from datetime import datetime

from django.db.models import QuerySet

from generation.models import GenerationJob
from labeling.access import membership_for
from labeling.models import Membership, Task


def job_latest_for_task(*, task: Task) -> GenerationJob | None:
    return task.generation_jobs.order_by("-created_at", "-pk").first()


def jobs_active_for_user(*, user, kind: str) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(requested_by=user, kind=kind, status__in=GenerationJob.ACTIVE_STATUSES)


def job_request_times_since(*, user, kind: str, since: datetime) -> list[datetime]:
    """When the user's jobs of ``kind`` created since ``since`` were requested, oldest first."""
    return list(
        GenerationJob.objects.filter(requested_by=user, kind=kind, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )


def llm_calls_since(*, user, since: datetime) -> list[tuple[datetime, int]]:
    """The user's text jobs since ``since``, oldest first: when each was requested and how many answers it asked."""
    return list(
        GenerationJob.objects.filter(requested_by=user, kind=GenerationJob.Kind.TEXT, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", "progress_total")
    )


def retry_allowed(*, user, task: Task) -> bool:
    """Whether the user may retry the task's generation: its creator, or a manager of its project."""
    membership = membership_for(user=user, project=task.project)
    return membership is not None and (membership.can(Membership.Capability.MANAGE) or task.created_by_id == user.pk)
