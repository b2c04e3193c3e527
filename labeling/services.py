from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Q, QuerySet
from django.utils import timezone

from labeling.models import Candidate, Preference, Project, Task, TaskReservation, Vote
from labeling.selectors import task_held_by, task_judgeable_by, tasks_unheld_for

# --- Voting ---

VOTE_VALUES = {"up": Vote.Value.UP, "down": Vote.Value.DOWN, "withdraw": Vote.Value.WITHDRAWN}
# A complete task still takes votes: an annotator who opened it before it filled up keeps their work.
VOTABLE_STATUSES = (Task.Status.READY, Task.Status.COMPLETE)
# How often the queue looks again when another annotator took the task it was about to hold.
CLAIM_ATTEMPTS = 5


class VotingError(Exception):
    """A vote, pick or claim that cannot be recorded; the message tells the annotator why."""


class InvalidVote(VotingError):
    """The request itself is malformed (unknown value, a candidate from another task…)."""


class TaskNotOpen(VotingError):
    """The task is not taking feedback (still generating, or failed)."""


class OwnPromptForbidden(VotingError):
    """The project does not let annotators judge outputs of prompts they typed themselves."""


def _check_may_judge(*, user, task: Task) -> None:
    if not task_judgeable_by(user=user, task=task):
        raise OwnPromptForbidden("This project does not let you judge the outputs of your own prompt.")


def _check_open(status: str | None) -> None:
    if status not in VOTABLE_STATUSES:
        label = Task.Status(status).label.lower() if status else "gone"
        raise TaskNotOpen(f"This task is not taking feedback: it is {label}. Nothing was recorded.")


def vote_cast(*, user, candidate: Candidate, value: str) -> Vote.Value:
    """Record the user's 👍 ("up"), 👎 ("down") or withdrawal ("withdraw") of a candidate; return the new value.

    One row per user and candidate, written with INSERT … ON CONFLICT, so repeats and
    concurrent double clicks never count twice. Then the task's completion is kept up to date.
    """
    vote_value = VOTE_VALUES.get(value)
    if vote_value is None:
        raise InvalidVote(f"A vote must be one of: {', '.join(VOTE_VALUES)} (got {value!r}).")
    task = candidate.task
    _check_may_judge(user=user, task=task)
    # A task only ever leaves the votable statuses before it has candidates, so the status read with the
    # candidate is current enough.
    _check_open(task.status)
    if vote_value == Vote.Value.WITHDRAWN:
        # Only an existing vote can be withdrawn; withdrawing nothing leaves no row behind.
        if Vote.objects.filter(user=user, candidate=candidate).update(value=vote_value, updated_at=timezone.now()):
            _task_reopen_if_short(task=task)
        return vote_value
    _vote_upsert(user=user, candidate=candidate, value=vote_value)
    _task_complete_if_full(task=task, candidate=candidate)
    return vote_value


# The two statements every vote runs, written out: building them through the ORM cost more than running them.
# Each commits on its own (autocommit), so the completion check runs after this vote is visible to every other.
VOTE_UPSERT_SQL = (
    "INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id, candidate_id)"
    " DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
)

# Completion is a single conditional UPDATE, committed after the vote that caused it: it reads the votes when it
# runs, so whichever of several concurrent votes updates last sees all of them, and a task never stays ready
# with every candidate full without a row lock. Only a candidate reaching the overlap can complete its task, so
# most votes stop at its count, one index scan.
TASK_COMPLETE_IF_FULL_SQL = (
    "UPDATE labeling_task SET status = %(complete)s, updated_at = %(now)s"
    " WHERE id = %(task)s AND status = %(ready)s"
    " AND (SELECT COUNT(*) FROM labeling_vote v WHERE v.candidate_id = %(candidate)s AND v.value <> %(withdrawn)s)"
    " >= %(overlap)s AND NOT EXISTS ("
    " SELECT 1 FROM labeling_candidate c WHERE c.task_id = labeling_task.id AND ("
    " SELECT COUNT(*) FROM labeling_vote v WHERE v.candidate_id = c.id AND v.value <> %(withdrawn)s) < %(overlap)s)"
)


def _vote_upsert(*, user, candidate: Candidate, value: Vote.Value) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(VOTE_UPSERT_SQL, [user.pk, candidate.pk, int(value), now, now])


def _short_of_votes(task: Task) -> Exists:
    overlap = task.project.votes_per_candidate
    return Exists(
        Candidate.objects.filter(task_id=task.pk)
        .annotate(cast=Count("votes", filter=~Q(votes__value=Vote.Value.WITHDRAWN)))
        .filter(cast__lt=overlap)
    )


def _task_complete_if_full(*, task: Task, candidate: Candidate) -> None:
    params = {
        "task": task.pk,
        "candidate": candidate.pk,
        "overlap": task.project.votes_per_candidate,
        "complete": Task.Status.COMPLETE,
        "ready": Task.Status.READY,
        "withdrawn": int(Vote.Value.WITHDRAWN),
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
    }
    with connection.cursor() as cursor:
        cursor.execute(TASK_COMPLETE_IF_FULL_SQL, params)


# Reopening mirrors completion: one conditional UPDATE after the withdrawal that caused it.
def _task_reopen_if_short(*, task: Task) -> None:
    Task.objects.filter(pk=task.pk, status=Task.Status.COMPLETE).filter(_short_of_votes(task)).update(
        status=Task.Status.READY, updated_at=timezone.now()
    )


def preference_set(*, user, task: Task, choice: str, chosen: Candidate | None = None) -> Preference:
    """Record which candidate the user finds best, or that they are tied, or all bad (one per user and task)."""
    if choice not in Preference.Choice.values:
        raise InvalidVote(f"A pick must be one of: {', '.join(Preference.Choice.values)} (got {choice!r}).")
    if choice == Preference.Choice.BEST and chosen is None:
        raise InvalidVote("Say which candidate is best.")
    if choice != Preference.Choice.BEST and chosen is not None:
        raise InvalidVote(f"A {Preference.Choice(choice).label.lower()} pick names no candidate.")
    if chosen is not None and chosen.task_id != task.pk:
        raise InvalidVote("That candidate belongs to another task.")
    _check_may_judge(user=user, task=task)
    with transaction.atomic():
        _check_open(Task.objects.filter(pk=task.pk).values_list("status", flat=True).first())
        if task.candidates.count() < 2:
            raise InvalidVote("Picking the best needs at least two candidates.")
        (preference,) = Preference.objects.bulk_create(
            [Preference(user=user, task=task, choice=choice, chosen=chosen)],
            update_conflicts=True,
            unique_fields=["user", "task"],
            update_fields=["choice", "chosen", "updated_at"],
        )
    return preference


# --- The work queue ---


def _lock_first(tasks: QuerySet[Task], skipped: Collection[int]) -> Task | None:
    """Lock the first open task, skipped ones last; first passing over tasks others have locked, then waiting."""
    for skip_locked in (True, False):
        for part in (tasks.exclude(pk__in=skipped), tasks.filter(pk__in=skipped)):
            task = part.select_for_update(skip_locked=skip_locked).first()
            if task is not None:
                return task
    return None


def task_claim_next(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """Hold the next task for the user and return it, or None when nothing is open to them.

    The user's own unfinished hold comes first; otherwise the oldest task with an open slot,
    skipped tasks last. Holds expire after QUEUE_RESERVATION_SECONDS; one hold per user and project.
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
            unheld = tasks_unheld_for(user=user, project=project, now=now)
            task = _lock_first(unheld.exclude(pk__in=passed_over), skipped)
            if task is None:
                return None
            # A new statement sees every hold committed before we got the lock, which the
            # statement that found the task may have missed.
            if not unheld.filter(pk=task.pk).exists():
                passed_over.add(task.pk)
                continue
            TaskReservation.objects.filter(user=user, task__project=project).delete()
            TaskReservation.objects.create(task=task, user=user, expires_at=expires_at)
            return task
    return None


def task_release(*, user, task: Task) -> None:
    """Give up the user's hold on a task (they skipped it), so its slot goes to someone else."""
    TaskReservation.objects.filter(task=task, user=user).delete()
