from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import (
    Candidate,
    MemberCounts,
    Membership,
    Preference,
    Project,
    ProjectCounts,
    QueueMarker,
    Task,
    TaskReservation,
    Vote,
)


def projects_for_user(*, user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def _counts_by_project(queryset: QuerySet, project_field: str) -> dict[int, int]:
    return dict(queryset.values(project_field).annotate(n=Count("pk")).values_list(project_field, "n"))


def project_counts_count(*, project_ids: Collection[int]) -> list[ProjectCounts]:
    """The projects' totals, counted now (unsaved): a handful of aggregate queries whatever the number of projects."""
    tasks = {
        row["project_id"]: row
        for row in Task.objects.filter(project_id__in=project_ids)
        .values("project_id")
        .annotate(
            tasks=Count("pk"),
            complete=Count("pk", filter=Q(status=Task.Status.COMPLETE)),
            ready=Count("pk", filter=Q(status=Task.Status.READY)),
        )
    }
    candidates = _counts_by_project(Candidate.objects.filter(task__project_id__in=project_ids), "task__project_id")
    votes = _counts_by_project(
        Vote.objects.filter(candidate__task__project_id__in=project_ids).exclude(value=Vote.Value.WITHDRAWN),
        "candidate__task__project_id",
    )
    now = timezone.now()
    return [
        ProjectCounts(
            project_id=project_id,
            tasks=tasks.get(project_id, {}).get("tasks", 0),
            complete_tasks=tasks.get(project_id, {}).get("complete", 0),
            ready_tasks=tasks.get(project_id, {}).get("ready", 0),
            candidates=candidates.get(project_id, 0),
            votes=votes.get(project_id, 0),
            counted_at=now,
        )
        for project_id in project_ids
    ]


def project_progress_for_user(*, user) -> list[Project]:
    """The user's projects with their role and totals (``counts``: ProjectCounts, as of its ``counted_at``).

    Totals come from the background count; a project not counted yet is counted on the spot (small, as it is new).
    """
    projects = list(projects_for_user(user=user).select_related("counts").order_by("name"))
    uncounted = [project.pk for project in projects if not hasattr(project, "counts")]
    counted_now = {counts.project_id: counts for counts in project_counts_count(project_ids=uncounted)}
    roles = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
    for project in projects:
        if project.pk in counted_now:
            project.counts = counted_now[project.pk]
        project.user_role = roles.get(project.pk, Membership.Role.MANAGER if user.is_superuser else "")
    return projects


# --- Voting: the work queue and the annotator's view of a task ---

_CAST = ~Q(votes__value=Vote.Value.WITHDRAWN)


def _cast_votes_by(user) -> QuerySet[Vote]:
    return Vote.objects.filter(user=user).exclude(value=Vote.Value.WITHDRAWN)


def fewest_cast_votes() -> Coalesce:
    """For a queryset of tasks: the cast votes of the task's least-voted candidate (0 without candidates).

    A task is full when this reaches its project's overlap: the ORM form of the completion rule, which
    labeling/votes.py states in SQL for the vote's own statements (tests hold the two to the same answers).
    """
    fewest = (
        Candidate.objects.filter(task=OuterRef("pk"))
        .annotate(cast=Count("votes", filter=_CAST))
        .order_by("cast")
        .values("cast")[:1]
    )
    return Coalesce(Subquery(fewest), 0)


def unjudged_by(user) -> Exists:
    """For a queryset of tasks: the task has a candidate the user has not judged (no cast vote)."""
    return Exists(
        Candidate.objects.filter(task=OuterRef("pk")).filter(
            ~Exists(_cast_votes_by(user).filter(candidate=OuterRef("pk")))
        )
    )


def queue_place_after(place: tuple[datetime, int] | None) -> Q:
    """Tasks after ``place`` ((queued_at, id)) in the queue's order; every task for None.

    ``queued_at >= …`` on its own as well, so PostgreSQL starts its index scan at the place.
    """
    if place is None:
        return Q()
    queued_at, task_id = place
    return Q(queued_at__gte=queued_at) & (Q(queued_at__gt=queued_at) | Q(pk__gt=task_id))


def queue_marker_of(*, user, project: Project) -> tuple[datetime, int] | None:
    """Where the queue starts looking for the user (see QueueMarker), or None from the start."""
    return QueueMarker.objects.filter(user=user, project=project).values_list("queued_at", "task_id").first()


def tasks_passed_by(user) -> Q:
    """Ready tasks the queue may leave behind the user's marker for good: finished by them, or not theirs to judge."""
    return ~unjudged_by(user) | ~Task.judgeable_by_q(user)


def tasks_open_for(*, user, project: Project) -> QuerySet[Task]:
    """Ready tasks of the project that still need votes and that the user has not finished, from their marker on.

    Each row is annotated with ``fewest_votes``: the cast votes of its least-voted candidate.
    """
    tasks = (
        Task.objects.filter(project=project, status=Task.Status.READY)
        .filter(queue_place_after(queue_marker_of(user=user, project=project)))
        .annotate(fewest_votes=fewest_cast_votes())
        .filter(unjudged_by(user), fewest_votes__lt=project.votes_per_candidate)
    )
    return tasks.filter(Task.judgeable_by_q(user))


def tasks_unheld_for(*, user, project: Project, now: datetime) -> QuerySet[Task]:
    """Open tasks whose remaining slots are not all held by other annotators still at work on them, oldest first."""
    # A holder who has judged every candidate is done with the task and no longer takes a slot.
    unjudged_by_holder = Candidate.objects.filter(task=OuterRef("task")).filter(
        ~Exists(
            Vote.objects.filter(candidate=OuterRef("pk"), user=OuterRef(OuterRef("user"))).exclude(
                value=Vote.Value.WITHDRAWN
            )
        )
    )
    held_by_others = (
        TaskReservation.objects.filter(task=OuterRef("pk"), expires_at__gt=now)
        .exclude(user=user)
        .filter(Exists(unjudged_by_holder))
        .values("task")
        .annotate(holders=Count("pk"))
        .values("holders")
    )
    return (
        tasks_open_for(user=user, project=project)
        .annotate(held_by_others=Coalesce(Subquery(held_by_others), 0))
        .filter(held_by_others__lt=project.votes_per_candidate - F("fewest_votes"))
        .order_by("queued_at", "pk")
    )


def task_held_by(*, user, project: Project, now: datetime) -> Task | None:
    """The open task the queue is holding for the user, if any: they get it back before anything new."""
    held = TaskReservation.objects.filter(user=user, expires_at__gt=now).values("task")
    return tasks_open_for(user=user, project=project).filter(pk__in=held).order_by("queued_at", "pk").first()


def task_next_for(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """The task the queue would give the user now: the one held for them, else the oldest open one.

    Tasks the user skipped come last, so they return only when nothing else is left.
    """
    now = timezone.now()
    held = task_held_by(user=user, project=project, now=now)
    if held is not None:
        return held
    tasks = tasks_unheld_for(user=user, project=project, now=now)
    return tasks.exclude(pk__in=skipped).first() or tasks.filter(pk__in=skipped).first()


# "Tasks left" counts this many at most: each open task costs a look at its votes, so an exact count
# would make every task page slower as the queue grows; past it the panel says "100+".
TASKS_LEFT_SHOWN_AT_MOST = 100


@dataclass(frozen=True)
class AnnotatorProgress:
    votes_today: int
    votes_total: int
    tasks_left: int

    @property
    def tasks_left_more(self) -> bool:
        """True when there are more open tasks than ``tasks_left`` says (it stopped counting)."""
        return self.tasks_left >= TASKS_LEFT_SHOWN_AT_MOST


def annotator_progress(*, user, project: Project) -> AnnotatorProgress:
    """The "My progress" panel: votes cast today and overall in the project, and tasks still open to the user.

    Overall = the background count (MemberCounts) plus the votes made since it was taken, so only recent votes
    are read, however many the person has cast.
    """
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    counted, counted_at = MemberCounts.objects.filter(user=user, project=project).values_list(
        "votes", "counted_at"
    ).first() or (0, None)
    recent = _cast_votes_by(user).filter(candidate__task__project=project)
    if counted_at is not None:
        recent = recent.filter(created_at__gte=min(midnight, counted_at))
    since = Q(created_at__gte=counted_at) if counted_at is not None else Q()
    counts = recent.aggregate(since=Count("pk", filter=since), today=Count("pk", filter=Q(created_at__gte=midnight)))
    return AnnotatorProgress(
        votes_today=counts["today"],
        votes_total=counted + counts["since"],
        tasks_left=tasks_open_for(user=user, project=project).order_by("queued_at", "pk")[
            :TASKS_LEFT_SHOWN_AT_MOST
        ].count(),
    )


def task_candidates_for(*, user, task: Task) -> tuple[list[Candidate], Preference | None]:
    """The task's candidates, each with the user's vote (``my_vote``) and pick (``is_best``), in three queries."""
    candidates = list(task.candidates.all())
    my_votes = dict(Vote.objects.filter(user=user, candidate__task=task).values_list("candidate_id", "value"))
    preference = Preference.objects.filter(user=user, task=task).first()
    for candidate in candidates:
        candidate.my_vote = my_votes.get(candidate.pk, Vote.Value.WITHDRAWN)
        candidate.is_best = preference is not None and preference.chosen_id == candidate.pk
    return candidates, preference
