from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from labeling.models import MemberCounts, Project, ProjectCounts, QueueMarker, Task, TaskReservation, Vote
from labeling.models.queue import hand_out_count
from labeling.queue_statements import (
    QueueStart,
    queue_start_of,
    task_first_open,
    task_first_unpassed,
    task_has_slot_for,
)
from labeling.selectors import (
    project_counts_count,
    queue_order,
    queue_place_after,
    queue_place_before,
    task_held_by,
)

# How often the queue looks again when another annotator took the task it was about to hold.
CLAIM_ATTEMPTS = 5


def _lock_first(
    *, user, project: Project, start: QueueStart, now, skipped: Collection[int], passed_over
) -> Task | None:
    """Lock the first task of the queue's parts; first passing over tasks others have locked, then waiting."""
    for lock in ("skip", "wait"):
        for gold, of_skipped in queue_order(user=user, project=project, start=start):
            task = task_first_open(
                user=user,
                project=project,
                start=start,
                now=now,
                gold=gold,
                skipped=of_skipped,
                skipped_ids=skipped,
                passed_over=passed_over,
                lock=lock,
            )
            if task is not None:
                return task
    return None


def task_claim_next(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """Hold the next task for the user and return it, or None when nothing is open to them.

    The user's own unfinished hold comes first; otherwise the first task of ``queue_order``'s parts (gold mixed in
    at the project's share, skipped tasks last); none for a paused member. Holds expire after QUEUE_RESERVATION_SECONDS;
    one hold per user and project.
    """
    start = queue_marker_advance(user=user, project=project)
    passed_over: set[int] = set()
    for _attempt in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            expires_at = now + timedelta(seconds=settings.QUEUE_RESERVATION_SECONDS)
            TaskReservation.objects.filter(task__project=project, expires_at__lte=now).delete()
            held = task_held_by(user=user, project=project, start=start, now=now)
            if held is not None:
                TaskReservation.objects.filter(task=held, user=user).update(expires_at=expires_at)
                return held
            task = _lock_first(
                user=user, project=project, start=start, now=now, skipped=skipped, passed_over=passed_over
            )
            if task is None:
                return None
            # A new statement sees every hold committed before we got the lock, which the
            # statement that found the task may have missed.
            if not task_has_slot_for(user=user, project=project, task=task, now=now):
                passed_over.add(task.pk)
                continue
            TaskReservation.objects.filter(user=user, task__project=project).delete()
            TaskReservation.objects.create(task=task, user=user, expires_at=expires_at)
            hand_out_count(QueueMarker, user=user, project=project, gold=task.gold is not None)
            return task
    return None


def queue_marker_advance(*, user, project: Project) -> QueueStart:
    """Move the user's QueueMarker past the ready tasks they have finished (or may not judge) since it last moved,
    and return where the queue now starts for them.

    Each task is passed once, so the queue's cost stays the same however many tasks are behind the user.
    """
    start = queue_start_of(user=user, project=project)
    if start.paused:  # a paused person is handed nothing; their place waits for their return
        return start
    ready = Task.objects.filter(project=project, status=Task.Status.READY).filter(queue_place_after(start.place))
    first_open = task_first_unpassed(user=user, project=project, start=start)
    passed = ready.filter(queue_place_before(first_open)) if first_open else ready
    last_passed = passed.order_by("-queued_at", "-pk").values_list("queued_at", "pk").first()
    if last_passed is None:
        return start
    place = {"queued_at": last_passed[0], "task_id": last_passed[1]}
    if not QueueMarker.objects.filter(user=user, project=project).update(**place, updated_at=timezone.now()):
        QueueMarker.objects.update_or_create(user=user, project=project, defaults=place)
    return replace(start, place=last_passed)


def task_release(*, user, task: Task) -> None:
    """Give up the user's hold on a task (they skipped it), so its slot goes to someone else."""
    TaskReservation.objects.filter(task=task, user=user).delete()


def project_counts_refresh() -> int:
    """Count every project's totals again (the dashboard shows them with their time); returns how many projects."""
    counts = project_counts_count(project_ids=list(Project.objects.values_list("pk", flat=True)))
    ProjectCounts.objects.bulk_create(
        counts,
        update_conflicts=True,
        unique_fields=["project"],
        update_fields=["tasks", "complete_tasks", "ready_tasks", "candidates", "votes", "counted_at"],
    )
    _member_counts_refresh(counted_at=counts[0].counted_at if counts else timezone.now())
    return len(counts)


def _member_counts_refresh(*, counted_at) -> None:
    """Each person's cast votes per project made before ``counted_at`` (My progress adds those made since)."""
    per_member = (
        Vote.objects.exclude(value=Vote.Value.WITHDRAWN)
        .filter(created_at__lt=counted_at)
        .values("user_id", "candidate__task__project_id")
        .annotate(votes=Count("pk"))
        .values_list("user_id", "candidate__task__project_id", "votes")
    )
    with transaction.atomic():
        # A person whose every vote was withdrawn since the last count is in no group below.
        MemberCounts.objects.update(votes=0, counted_at=counted_at)
        MemberCounts.objects.bulk_create(
            (
                MemberCounts(user_id=user_id, project_id=project_id, votes=votes, counted_at=counted_at)
                for user_id, project_id, votes in per_member.iterator()
            ),
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["user", "project"],
            update_fields=["votes", "counted_at"],
        )
