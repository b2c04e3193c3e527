from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from labeling.models import Project, Task, TaskReservation
from labeling.selectors import queue_for, task_held_by, tasks_unheld_for

# How often the queue looks again when another annotator took the task it was about to hold.
CLAIM_ATTEMPTS = 5


def _lock_first(parts: list[QuerySet[Task]]) -> Task | None:
    """Lock the first task of the queue's parts; first passing over tasks others have locked, then waiting."""
    for skip_locked in (True, False):
        for part in parts:
            task = part.select_for_update(skip_locked=skip_locked).first()
            if task is not None:
                return task
    return None


def task_claim_next(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """Hold the next task for the user and return it, or None when nothing is open to them.

    The user's own unfinished hold comes first; otherwise the first task of ``queue_for`` (gold mixed in at the
    project's share, skipped tasks last); none for a paused member. Holds expire after QUEUE_RESERVATION_SECONDS;
    one hold per user and project.
    """
    passed_over: set[int] = set()
    for _attempt in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            expires_at = now + timedelta(seconds=settings.QUEUE_RESERVATION_SECONDS)
            TaskReservation.objects.filter(task__project=project, expires_at__lte=now).delete()
            held = task_held_by(user=user, project=project, now=now)
            if held is not None:
                TaskReservation.objects.filter(task=held, user=user).update(expires_at=expires_at)
                return held
            parts = queue_for(user=user, project=project, now=now, skipped=skipped)
            task = _lock_first([part.exclude(pk__in=passed_over) for part in parts])
            if task is None:
                return None
            # A new statement sees every hold committed before we got the lock, which the
            # statement that found the task may have missed.
            if not tasks_unheld_for(user=user, project=project, now=now).filter(pk=task.pk).exists():
                passed_over.add(task.pk)
                continue
            TaskReservation.objects.filter(user=user, task__project=project).delete()
            TaskReservation.objects.create(task=task, user=user, expires_at=expires_at)
            return task
    return None


def task_release(*, user, task: Task) -> None:
    """Give up the user's hold on a task (they skipped it), so its slot goes to someone else."""
    TaskReservation.objects.filter(task=task, user=user).delete()
