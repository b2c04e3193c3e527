"""The vote, and every other judgement of a task's candidates: who may make it, how it is written, and what it
does to the task.

A 👍/👎 is the busiest request, so it is one conditional statement: the candidate is selected only when the user
may judge it (member of its project with a role that annotates, or superuser; not the typist of the prompt where
the project forbids that; the task taking feedback) and the vote is upserted from that selection. Only when it
wrote nothing is the reason worked out, through the access helpers and the task's own rules, into the error the
annotator sees (404, 403, 409, or 400 with a message). The SQL here is the one hand-written form of those rules;
``tests/labeling/test_judging_rule.py`` holds it to the same answers as ``Task.judgeable_by`` and the queue.

Completion and reopening are one conditional update run after the vote or pick that may cause them. After a vote
on PostgreSQL the vote and the update are one call of a database function (``labeling_vote_write``) made from these
statements after every migrate, so the client sends and reads one statement and both run in one transaction; after
a pick, in autocommit. It reads the task's judgement counts, which the database keeps exact as votes and picks are
written (labeling/models/counts.py), locked as the counting does, so syncs and recounts of a task take turns and
whichever of several concurrent votes runs last sees all of them.
A task is full when each candidate has the project's overlap of cast votes, and, where its judgements disagree, one
more at a time up to the project's most judgements per item (adaptive overlap). A gold task
completes by the same rule, so its status sets it apart from no other; the queue hands it out regardless.
When someone listens for completions (webhooks), a completion the update made is announced in a transaction of
its own, so what the listener records commits whole; a vote that completes nothing pays nothing for it.

Every write of a vote also writes its row of the audit trail (django-simple-history's table for Vote): who, when,
created or changed, and the vote's values, so consecutive rows give the old and new value. On PostgreSQL the vote's
statement writes it (a data-modifying WITH), so a vote stays one statement; SQLite has no data-modifying WITH, so
there it is a second statement in the same transaction.
"""

from uuid import UUID

from django.db import connection, connections, transaction
from django.db.models import Count
from django.utils import timezone

from labeling.access import get_candidate_for_user
from labeling.models import Candidate, Membership, Preference, Task, Vote
from labeling.models.counts import JUDGEMENTS_MISSING_SQL
from labeling.signals import task_completed, task_completion_announce


class VotingError(Exception):
    """A vote or pick that cannot be recorded; the message tells the annotator why. Nothing was changed."""

    def __init__(self, message: str, *, task: Task | None = None):
        super().__init__(message)
        self.task = task


class InvalidVote(VotingError):
    """The request itself is malformed (unknown value, a candidate from another task…)."""


class TaskNotOpen(VotingError):
    """The task is not taking feedback (still generating, or failed)."""


class OwnPromptForbidden(VotingError):
    """The project does not let annotators judge outputs of prompts they typed themselves."""


class JudgePaused(VotingError):
    """A manager of the project paused this person: they get no more tasks and may not judge."""


OWN_PROMPT_MESSAGE = "You wrote this prompt, and this project does not let you judge the outputs of your own prompt."
PAUSED_MESSAGE = (
    "A manager of {project} has paused your work here: no tasks for you, and nothing you send is recorded,"
    " until they reinstate you."
)

_ANNOTATING_ROLES = [
    role for role, capabilities in Membership.CAPABILITIES.items() if Membership.Capability.ANNOTATE in capabilities
]

# The candidate, when this user may judge it now (a member not paused in its project; a superuser is never paused).
# Parameters: uid, user, superuser, the roles, typed, the statuses (the f-strings below only add placeholders).
JUDGEABLE_CANDIDATE_SQL = (
    "SELECT c.id FROM labeling_candidate c"  # noqa: S608
    " JOIN labeling_task t ON t.id = c.task_id JOIN labeling_project p ON p.id = t.project_id"
    " WHERE c.uid = %(uid)s"
    f" AND t.status IN ({', '.join(f'%(status_{n})s' for n in range(len(Task.JUDGEABLE_STATUSES)))})"
    " AND (%(superuser)s OR EXISTS (SELECT 1 FROM labeling_membership m"
    " WHERE m.user_id = %(user)s AND m.project_id = p.id"
    f" AND m.role IN ({', '.join(f'%(role_{n})s' for n in range(len(_ANNOTATING_ROLES)))})"
    " AND m.paused_at IS NULL))"
    " AND NOT (p.forbid_self_voting AND t.source = %(typed)s"
    " AND t.created_by_id IS NOT NULL AND t.created_by_id = %(user)s)"
)

_VOTE_COLUMNS = "id, user_id, candidate_id, value, created_at, updated_at"

VOTE_UPSERT_SQL = (
    "INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)"  # noqa: S608
    f" SELECT %(user)s, judgeable.id, %(value)s, %(now)s, %(now)s FROM ({JUDGEABLE_CANDIDATE_SQL}) judgeable"
    " WHERE TRUE ON CONFLICT (user_id, candidate_id)"
    f" DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at RETURNING {_VOTE_COLUMNS}"
)

# Only an existing vote can be withdrawn; the row stays, so an export that published the vote publishes its end.
VOTE_WITHDRAW_SQL = (
    "UPDATE labeling_vote SET value = %(value)s, updated_at = %(now)s"  # noqa: S608
    f" WHERE user_id = %(user)s AND candidate_id IN ({JUDGEABLE_CANDIDATE_SQL}) RETURNING {_VOTE_COLUMNS}"
)

# The audit trail's row for votes just written (``written``), by their voter. A vote written now has both times
# equal only when this statement created it: an update keeps the earlier created_at.
_VOTE_HISTORY_INSERT = (
    f"INSERT INTO labeling_historicalvote ({_VOTE_COLUMNS}, history_date, history_type, history_user_id)"
    f" SELECT {_VOTE_COLUMNS}, updated_at, CASE WHEN created_at = updated_at THEN '+' ELSE '~' END, user_id"
)
# PostgreSQL: the vote and its history in one statement.
VOTE_UPSERT_WITH_HISTORY_SQL = (
    f"WITH written AS ({VOTE_UPSERT_SQL}) {_VOTE_HISTORY_INSERT} FROM written RETURNING candidate_id"
)
VOTE_WITHDRAW_WITH_HISTORY_SQL = (
    f"WITH written AS ({VOTE_WITHDRAW_SQL}) {_VOTE_HISTORY_INSERT} FROM written RETURNING candidate_id"
)
# SQLite: the history of the vote just written, from its row, in the vote's transaction.
VOTE_HISTORY_OF_ROW_SQL = f"{_VOTE_HISTORY_INSERT} FROM labeling_vote written WHERE id = %(vote)s"

# When a task is full: the completion rule's SQL (labeling/models/counts.py) says it needs nobody more.
_TASK_FULL_SQL = f"({JUDGEMENTS_MISSING_SQL}) <= 0"
# The task (labeling_task), its counts (j) and its project (p) call for a change of status: full but ready, or
# complete but no longer full.
_STATUS_CHANGE_DUE_SQL = (
    f"((labeling_task.status = %(ready)s AND {_TASK_FULL_SQL})"
    f" OR (labeling_task.status = %(complete)s AND NOT ({_TASK_FULL_SQL})))"
)


def _status_sync_sql(*, task: str, lock: bool) -> str:
    """Complete the ready task when full, reopen the complete task when not. A reopened task goes back in the queue
    at its end (``queued_at``), after every annotator's QueueMarker, so the queue hands it out again.

    ``lock``: where the statement's snapshot says a change is due (``due``), the task's counts are read again locked
    (PostgreSQL), as the counts' triggers lock them before a recount, and the change is made only if they still call
    for it. The lock waits for a vote being counted and returns the counts as it left them: from the snapshot alone,
    a sync that began before a later vote committed could reopen the task that vote had just filled. Every change
    of status and of counts so happens under the same lock, on what the one before wrote. A sync with nothing to
    change (most) locks nothing, so it writes nothing and its commit waits for no disk. (SQLite writes one
    transaction at a time.)
    """
    locked = " FOR UPDATE" if lock else ""
    return (
        "WITH due AS (SELECT j.task_id FROM labeling_taskjudgementcounts j"  # noqa: S608
        " JOIN labeling_task ON labeling_task.id = j.task_id JOIN labeling_project p ON p.id = labeling_task.project_id"
        f" WHERE j.task_id = {task} AND {_STATUS_CHANGE_DUE_SQL}),"
        f" j AS (SELECT * FROM labeling_taskjudgementcounts WHERE task_id IN (SELECT task_id FROM due){locked})"
        " UPDATE labeling_task SET updated_at = %(now)s,"
        " queued_at = CASE WHEN status = %(complete)s THEN %(now)s ELSE queued_at END,"
        " status = CASE WHEN status = %(ready)s THEN %(complete)s ELSE %(ready)s END"
        " FROM j, labeling_project p"
        f" WHERE labeling_task.id = j.task_id AND p.id = labeling_task.project_id AND {_STATUS_CHANGE_DUE_SQL}"
        " RETURNING labeling_task.id, labeling_task.batch_id, labeling_task.status"
    )


# The sync after a vote, of the task of the candidate voted on (by the vote's own parameter, so that it can be sent
# with the vote); the sync of a task. Each with its counts locked, or not.
TASK_STATUS_SYNC_AFTER_VOTE_SQL = {
    lock: _status_sync_sql(task="(SELECT c.task_id FROM labeling_candidate c WHERE c.uid = %(uid)s)", lock=lock)
    for lock in (True, False)
}
TASK_STATUS_SYNC_SQL = {lock: _status_sync_sql(task="%(task)s", lock=lock) for lock in (True, False)}


def _completion_announce(synced: tuple | None) -> None:
    """A completion a status sync made (its returned row) is announced (task_completed) to whoever listens."""
    if synced and synced[2] == Task.Status.COMPLETE and task_completed.has_listeners(Task):
        with transaction.atomic():
            task_completion_announce(task_id=synced[0], batch_id=synced[1])


def _task_status_sync(cursor, sql: dict[bool, str], params: dict) -> None:
    cursor.execute(sql[connection.features.has_select_for_update], params)
    _completion_announce(cursor.fetchone())


def db_now() -> object:
    return connection.ops.adapt_datetimefield_value(timezone.now())


# JUDGEABLE_CANDIDATE_SQL's parameters that are the same for every vote.
_JUDGING_RULE_PARAMS = {
    "typed": Task.Source.TYPED.value,
    **{f"status_{n}": str(status) for n, status in enumerate(Task.JUDGEABLE_STATUSES)},
    **{f"role_{n}": str(role) for n, role in enumerate(_ANNOTATING_ROLES)},
}


def judging_params(*, user, uid: UUID) -> dict:
    return {
        **_JUDGING_RULE_PARAMS,
        "uid": Candidate._meta.get_field("uid").get_db_prep_value(uid, connection),
        "user": user.pk,
        "superuser": bool(user.is_superuser),
    }


# The status sync's parameters that are the same for every sync.
_STATUS_PARAMS = {"ready": Task.Status.READY.value, "complete": Task.Status.COMPLETE.value}


def _task_params(*, now, task_id: int | None = None) -> dict:
    return {"task": task_id, **_STATUS_PARAMS, "now": now}


# PostgreSQL: the vote (or its withdrawal), its history and the sync after it, as one function call: one statement
# for the client to send and read (each statement costs the web process more than the database), while inside the
# function the sync is a statement of its own, so it sees the counts the vote's triggers left. The function's body
# is made from the statements above (vote_function_install, run after every migrate), so they stay the one form.
VOTE_FUNCTION_ARGUMENTS = {
    "uid": "uuid",
    "user": "bigint",
    "superuser": "boolean",
    "value": "smallint",
    "now": "timestamptz",
    "withdraw": "boolean",
}
VOTE_FUNCTION_CALL_SQL = (
    "SELECT written_candidate, synced_task, synced_batch, synced_status FROM labeling_vote_write("  # noqa: S608
    + ", ".join(f"%({name})s" for name in VOTE_FUNCTION_ARGUMENTS)
    + ")"
)


def vote_function_sql(quote_value) -> str:
    """The function's definition; ``quote_value`` writes a constant parameter as an SQL literal."""
    arguments = {name: f"vote_{name}" for name in VOTE_FUNCTION_ARGUMENTS}
    constants = {**_JUDGING_RULE_PARAMS, **_STATUS_PARAMS}
    names = {**arguments, **{name: quote_value(value) for name, value in constants.items()}}
    signature = ", ".join(f"{arguments[name]} {kind}" for name, kind in VOTE_FUNCTION_ARGUMENTS.items())
    return (
        f"CREATE OR REPLACE FUNCTION labeling_vote_write({signature}) RETURNS TABLE"
        " (written_candidate bigint, synced_task bigint, synced_batch bigint, synced_status varchar)"
        " LANGUAGE plpgsql AS $vote$ BEGIN"
        f" IF vote_withdraw THEN {VOTE_WITHDRAW_WITH_HISTORY_SQL % names} INTO written_candidate;"
        f" ELSE {VOTE_UPSERT_WITH_HISTORY_SQL % names} INTO written_candidate; END IF;"
        f" {TASK_STATUS_SYNC_AFTER_VOTE_SQL[True] % names} INTO synced_task, synced_batch, synced_status;"
        " RETURN NEXT; END $vote$"
    )


def vote_function_install(using: str = "default", **kwargs) -> None:
    """(Re)define the vote's function on a PostgreSQL database (post_migrate); other databases have none."""
    target = connections[using]
    if target.vendor != "postgresql":
        return
    with target.schema_editor() as editor:
        editor.execute(vote_function_sql(editor.quote_value))


def _written_and_synced(*, withdraw: bool, params: dict) -> int | None:
    """Write the vote (or its withdrawal) and its history, then bring the task's status up to date; the id of the
    candidate whose vote was written, or None when nothing was (the sync then changed nothing that was not due)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(VOTE_FUNCTION_CALL_SQL, {**params, "withdraw": withdraw})
            row = cursor.fetchone()
        # The candidate written (or null), then the sync's row: all null when it changed nothing.
        _completion_announce(row[1:])
        return row[0]
    sync_params = {**params, **_task_params(now=params["now"])}
    with connection.cursor() as cursor:
        with transaction.atomic():
            cursor.execute(VOTE_WITHDRAW_SQL if withdraw else VOTE_UPSERT_SQL, params)
            written = cursor.fetchone()
            if written is None:
                return None
            cursor.execute(VOTE_HISTORY_OF_ROW_SQL, {"vote": written[0]})
        _task_status_sync(cursor, TASK_STATUS_SYNC_AFTER_VOTE_SQL, sync_params)
    return written[2]


VOTE_REQUEST_NAMES = [value.request_name for value in Vote.Value]


def task_for_judging(*, user, uid: UUID) -> Task:
    """The candidate's task, through the access helpers: Http404 for non-members, PermissionDenied for a role
    that may not annotate."""
    return get_candidate_for_user(user=user, uid=uid, capability=Membership.Capability.ANNOTATE).task


def judging_refusal(*, user, task: Task, status: str | None = None) -> VotingError | None:
    """Why the user may not judge the task now (``status``: the task's current one, when read afresh), or None."""
    if not task.judgeable_by(user):
        if task.judge_paused(user):
            return JudgePaused(PAUSED_MESSAGE.format(project=task.project.name), task=task)
        return OwnPromptForbidden(OWN_PROMPT_MESSAGE, task=task)
    status = status or task.status
    if status in Task.JUDGEABLE_STATUSES:
        return None
    return TaskNotOpen(
        f"This task is not taking feedback: it is {Task.Status(status).label.lower()}. Nothing was recorded.",
        task=task,
    )


def vote_cast(*, user, candidate_uid: UUID, value: str) -> Vote.Value:
    """Record the user's 👍 ("up"), 👎 ("down") or withdrawal ("withdraw") of a candidate; return the new value.

    One row per user and candidate, so repeats and concurrent double clicks never count twice; then the task's
    completion is kept up to date. Raises a VotingError (or Http404 / PermissionDenied) and writes nothing when
    the vote may not be cast.
    """
    vote_value = Vote.Value.from_request(value)
    if vote_value is None:
        task = task_for_judging(user=user, uid=candidate_uid)
        raise InvalidVote(f"A vote must be one of: {', '.join(VOTE_REQUEST_NAMES)} (got {value!r}).", task=task)
    params = {**judging_params(user=user, uid=candidate_uid), "value": int(vote_value), "now": db_now()}
    withdraw = vote_value == Vote.Value.WITHDRAWN
    if _written_and_synced(withdraw=withdraw, params=params) is None:
        # Nothing written: explain why. Only an existing vote can be withdrawn; nothing to withdraw is no error.
        if refusal := judging_refusal(user=user, task=task_for_judging(user=user, uid=candidate_uid)):
            raise refusal
        if withdraw:
            return vote_value
        # Were nothing wrong any more (the task opened meanwhile), vote again.
        if _written_and_synced(withdraw=False, params=params) is None:
            raise TaskNotOpen("This task changed while you voted. Nothing was recorded; please vote again.")
    return vote_value


def task_status_sync(*, task_id: int) -> None:
    """Complete or reopen the task as its judgements now say (after a pick)."""
    with connection.cursor() as cursor:
        _task_status_sync(cursor, TASK_STATUS_SYNC_SQL, _task_params(task_id=task_id, now=db_now()))


# A pick, one per user and task: the newest stands. Both times are written equal and an update keeps the first
# created_at, so the row returned had its times differ exactly when the pick was there before.
PREFERENCE_UPSERT_SQL = (
    "INSERT INTO labeling_preference (user_id, task_id, choice, chosen_id, created_at, updated_at)"
    " VALUES (%(user)s, %(task)s, %(choice)s, %(chosen)s, %(now)s, %(now)s)"
    " ON CONFLICT (user_id, task_id) DO UPDATE SET choice = excluded.choice, chosen_id = excluded.chosen_id,"
    " updated_at = excluded.updated_at RETURNING id, user_id, task_id, choice, chosen_id, created_at, updated_at"
)


def preference_record(*, user, task: Task, choice: str, chosen: Candidate | None = None) -> Preference:
    """The one writer of picks: the best candidate, a tie, or all bad, one per user and task (the newest stands).

    Used by the image grid's pick and by the comparison of two LLM answers alike.
    """
    if choice not in Preference.Choice.values:
        raise InvalidVote(f"A pick must be one of: {', '.join(Preference.Choice.values)} (got {choice!r}).", task=task)
    if choice == Preference.Choice.BEST and chosen is None:
        raise InvalidVote("Say which candidate is best.", task=task)
    if choice != Preference.Choice.BEST and chosen is not None:
        raise InvalidVote(f"A {Preference.Choice(choice).label.lower()} pick names no candidate.", task=task)
    if chosen is not None and chosen.task_id != task.pk:
        raise InvalidVote("That candidate belongs to another task.", task=task)
    with transaction.atomic():
        # The status as it is now (the task may have failed since the page was loaded), and its candidates.
        status, candidate_count = (
            Task.objects.filter(pk=task.pk)
            .annotate(candidate_count=Count("candidates"))
            .order_by()
            .values_list("status", "candidate_count")
            .first()
        ) or (None, 0)
        if refusal := judging_refusal(user=user, task=task, status=status):
            raise refusal
        if candidate_count < 2:
            raise InvalidVote("Picking the best needs at least two candidates.", task=task)
        params = {
            "user": user.pk,
            "task": task.pk,
            "choice": choice,
            "chosen": chosen.pk if chosen else None,
            "now": db_now(),
        }
        (stored,) = Preference.objects.raw(PREFERENCE_UPSERT_SQL, params)
        # An upsert sends no save signal, so its row of the audit trail is written here, from the row as stored.
        Preference.history.bulk_history_create(
            [stored], update=stored.created_at != stored.updated_at, default_user=user, default_date=stored.updated_at
        )
    task_status_sync(task_id=task.pk)
    return stored
