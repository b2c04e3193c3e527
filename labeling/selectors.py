import math
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from labeling.models import (
    Candidate,
    MemberCounts,
    Membership,
    Preference,
    Project,
    ProjectCounts,
    Task,
    TaskReservation,
    Vote,
)
from labeling.queue_statements import QueueStart, queue_start_of, task_held_open, tasks_open_count


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


def _cast_votes_by(user) -> QuerySet[Vote]:
    return Vote.objects.filter(user=user).exclude(value=Vote.Value.WITHDRAWN)


def _unfinished_by(user) -> Exists:
    """For a queryset of tasks: a candidate of the task has no cast vote of the user (they have not finished it)."""
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


def queue_place_before(place: tuple[datetime, int]) -> Q:
    """Tasks before ``place`` in the queue's order (``queued_at <= …`` on its own too, for the index scan)."""
    queued_at, task_id = place
    return Q(queued_at__lte=queued_at) & (Q(queued_at__lt=queued_at) | Q(pk__lt=task_id))


def tasks_passed_by(user, *, start: QueueStart) -> Q:
    """Ready tasks the queue may leave behind the user's marker for good: finished by them, or not theirs to judge."""
    return ~_unfinished_by(user) | ~Task.judgeable_by_q(user, paused=start.paused)


def with_judgements_missing(tasks: QuerySet[Task], *, project: Project) -> QuerySet[Task]:
    """Tasks of ``project`` annotated with ``fewest_votes`` and ``judgements_missing``: how many more people the
    task needs before it is full.

    A task needs its project's overlap of cast votes on each candidate; where its judgements disagree (a candidate's
    votes are split, or the best picks differ), one more at a time, up to the project's most judgements per item
    (adaptive overlap). Read from the counts the database keeps (TaskJudgementCounts), so a task costs one row
    whatever its votes. The ORM form of the completion rule that labeling/votes.py states in SQL for the vote's own
    statements (tests/labeling/test_judging_rule.py holds the two to the same answers). Gold tasks complete by the
    same rule; the queue hands them out regardless (``tasks_open_for``).
    """
    max_judgements = project.max_judgements
    disputed = Q(judgement_counts__fewest_split_votes__lt=max_judgements) | Q(
        judgement_counts__picks_differ=True, judgement_counts__fewest_votes__lt=max_judgements
    )
    return tasks.annotate(fewest_votes=F("judgement_counts__fewest_votes")).annotate(
        judgements_missing=Greatest(
            Value(project.votes_per_candidate) - F("fewest_votes"),
            Case(When(disputed, then=Value(1)), default=Value(0)),
        )
    )


def tasks_open_for(*, user, project: Project, start: QueueStart, gold: bool | None = None) -> QuerySet[Task]:
    """Tasks of the project the queue may hand the user: ready ones after their QueueMarker that still need
    judgements, and gold ones (complete or not), that the user may judge and has not finished; ``gold``: only
    the gold ones (True) or only the others (False). Each part's conditions stand at the top of its statement,
    so PostgreSQL walks the part's index in the queue's order and stops at the first task that qualifies.

    Each row is annotated with ``fewest_votes`` and ``judgements_missing`` (``with_judgements_missing``).
    """
    # A gold task is handed to everyone who has not judged it, complete or not: its status follows the ordinary
    # rule, so that it shows nothing a person could tell it apart by.
    ordinary = Q(
        queue_place_after(start.place),
        gold__isnull=True,
        status=Task.Status.READY,
        judgements_missing__gt=0,
    )
    gold_tasks = Q(gold__isnull=False, status__in=Task.JUDGEABLE_STATUSES)
    part = {None: ordinary | gold_tasks, True: gold_tasks, False: ordinary}[gold]
    tasks = with_judgements_missing(Task.objects.filter(project=project), project=project).filter(part)
    return tasks.filter(_unfinished_by(user)).filter(Task.judgeable_by_q(user, paused=start.paused))


def _held_by_others(*, user, now: datetime) -> Coalesce:
    """For a queryset of tasks: how many other annotators hold it and are still at work on it."""
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
    return Coalesce(Subquery(held_by_others), 0)


def tasks_unheld_for(
    *, user, project: Project, start: QueueStart, now: datetime, gold: bool | None = None
) -> QuerySet[Task]:
    """Open tasks whose remaining slots are not all held by other annotators still at work on them, oldest first.

    A gold task has no slots to run out of: everyone who has not judged it may take it.
    """
    return (
        tasks_open_for(user=user, project=project, start=start, gold=gold)
        .annotate(held_by_others=_held_by_others(user=user, now=now))
        .filter(Q(gold__isnull=False) | Q(held_by_others__lt=F("judgements_missing")))
        .order_by("queued_at", "pk")
    )


def task_held_by(*, user, project: Project, start: QueueStart, now: datetime) -> Task | None:
    """The open task the queue is holding for the user, if any: they get it back before anything new."""
    held = list(
        TaskReservation.objects.filter(user=user, task__project=project, expires_at__gt=now).values_list(
            "task_id", flat=True
        )
    )
    return task_held_open(user=user, project=project, start=start, held_ids=held)


def gold_due(*, judged: int, gold_judged: int, share: float, seed: str) -> bool:
    """Whether the next hand-out to a person should be gold, so that gold makes ``share`` of what they judge.

    Jittered systematic sampling: the (g+1)-th gold item falls at a point drawn (seeded by the person, the project
    and g) within the (g+1)-th stretch of 1/share hand-outs, so after n hand-outs a person has judged
    floor(n * share) or one more gold items, never at a fixed period they could learn.
    """
    if share <= 0:
        return False
    offset = random.Random(f"{seed}:{gold_judged}").random()  # noqa: S311 (a schedule, not a secret)
    return gold_judged < math.floor((judged + 1) * share + offset)


def project_has_gold(project: Project) -> bool:
    """Whether the project has gold tasks: where it has none, the queue runs no statement for its gold part."""
    return Task.objects.filter(project=project, gold__isnull=False).exists()


def queue_order(*, user, project: Project, start: QueueStart) -> list[tuple[bool, bool]]:
    """The parts of the queue in the order it hands them out, as (gold, skipped): the first task of the first part
    that has one goes next.

    Gold tasks come first when one is due (``gold_due``) and after the ordinary ones otherwise; tasks the user
    skipped come last of all. A gold task looks like any other on every page, and judgements of it are stored as
    any others.
    """
    if not project_has_gold(project):
        kinds = [False]
    elif gold_due(  # from what the queue has handed the user so far (QueueMarker's counts), not their history
        judged=start.handed_out,
        gold_judged=start.gold_handed_out,
        share=project.gold_share,
        seed=f"{project.pk}:{user.pk}",
    ):
        kinds = [True, False]
    else:
        kinds = [False, True]
    return [(gold, False) for gold in kinds] + [(gold, True) for gold in kinds]


def queue_for(
    *, user, project: Project, start: QueueStart, now: datetime, skipped: Collection[int] = ()
) -> list[QuerySet[Task]]:
    """The querysets of ``queue_order``'s parts, in its order (the claim runs the same parts in SQL:
    labeling/queue_statements.py)."""
    parts = []
    for gold, of_skipped in queue_order(user=user, project=project, start=start):
        tasks = tasks_unheld_for(user=user, project=project, start=start, now=now, gold=gold)
        parts.append(tasks.filter(pk__in=skipped) if of_skipped else tasks.exclude(pk__in=skipped))
    return parts


def task_next_for(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """The task the queue would give the user now: the one held for them, else the first of ``queue_for``."""
    now = timezone.now()
    start = queue_start_of(user=user, project=project)
    held = task_held_by(user=user, project=project, start=start, now=now)
    if held is not None:
        return held
    parts = queue_for(user=user, project=project, start=start, now=now, skipped=skipped)
    return next((task for tasks in parts if (task := tasks.first())), None)


def tasks_as_shown_to(*, user, tasks: list[Task]) -> list[Task]:
    """The tasks with the status a page shows this user: a complete gold task shows as ready for feedback to anyone
    who has not judged it yet, as every task the queue hands out does; once they have, its own status shows."""
    complete_gold = [task.pk for task in tasks if task.gold is not None and task.status == Task.Status.COMPLETE]
    if complete_gold:
        open_to_user = set(
            Task.objects.filter(pk__in=complete_gold).filter(_unfinished_by(user)).values_list("pk", flat=True)
        )
        for task in tasks:
            if task.pk in open_to_user:
                task.status = Task.Status.READY  # shown only: nothing saves a task a page renders
    return tasks


# "Tasks left" counts this many at most: each open task costs a look at its votes, so an exact count
# would make every task page slower as the queue grows; past it the panel says "100+".
TASKS_LEFT_SHOWN_AT_MOST = 100


@dataclass(frozen=True)
class AnnotatorProgress:
    votes_today: int
    votes_total: int
    tasks_left: int
    paused: bool = False

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
    start = queue_start_of(user=user, project=project)
    return AnnotatorProgress(
        paused=start.paused,
        votes_today=counts["today"],
        votes_total=counted + counts["since"],
        tasks_left=min(
            TASKS_LEFT_SHOWN_AT_MOST,
            sum(
                tasks_open_count(user=user, project=project, start=start, gold=part, limit=TASKS_LEFT_SHOWN_AT_MOST)
                for part in ((False, True) if project_has_gold(project) else (False,))
            ),
        ),
    )


def task_candidates_for(*, user, task: Task) -> tuple[list[Candidate], Preference | None]:
    """The task's candidates, each with the user's vote (``my_vote``) and pick (``is_best``), in two queries."""
    my_vote = Vote.objects.filter(user=user.pk, candidate=OuterRef("pk")).values("value")
    candidates = list(task.candidates.annotate(my_vote=Coalesce(Subquery(my_vote), Value(int(Vote.Value.WITHDRAWN)))))
    preference = Preference.objects.filter(user=user, task=task).first()
    for candidate in candidates:
        candidate.is_best = preference is not None and preference.chosen_id == candidate.pk
    return candidates, preference
