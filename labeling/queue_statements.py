"""The annotator queue's rule in SQL, for the statements of a press of "Next task", which the ORM took longer to
build (about 5 ms each on this project's 2-core machine) than the database to run (under 1 ms).

The ORM form in labeling/selectors.py (``tasks_open_for``, ``tasks_unheld_for``, ``tasks_passed_by``) stays the
rule's reference and answers ``task_next_for`` (what the queue would give, without holding it); every page and
press runs the statements here; tests/labeling/test_queue_rule.py
holds the two forms to the same answers over tasks in every state an annotator meets. The judging rule's SQL for
one task (may this person judge it) is the task-level part of labeling/votes.py's; the completion rule is the one
SQL form both use (``JUDGEMENTS_MISSING_SQL``, labeling/models/counts.py), read from the counts the database keeps.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from labeling.models import Membership, Project, QueueMarker, Task, Vote
from labeling.models.counts import JUDGEMENTS_MISSING_SQL


@dataclass(frozen=True)
class QueueStart:
    """What the queue reads of a person once per press: their place (QueueMarker: (queued_at, task id), None from
    the start), what it has handed them so far, and whether a manager paused them (then it hands them nothing).

    Read once and passed along, so that no statement of the press asks again, and so that the queue's statements
    test each task only for what differs between tasks: PostgreSQL misjudges a per-task test of the pause, which is
    the same for every task, and then sorts every open task instead of walking the queue's index.
    """

    place: tuple[datetime, int] | None = None
    handed_out: int = 0
    gold_handed_out: int = 0
    paused: bool = False


def queue_start_of(*, user, project: Project) -> QueueStart:
    marker = (
        QueueMarker.objects.filter(user=user, project=project)
        .values_list("queued_at", "task_id", "handed_out", "gold_handed_out")
        .first()
    )
    paused = Membership.is_paused(user, project)
    if marker is None:
        return QueueStart(paused=paused)
    queued_at, task_id, handed_out, gold_handed_out = marker
    place = (queued_at, task_id) if task_id is not None else None
    return QueueStart(place=place, handed_out=handed_out, gold_handed_out=gold_handed_out, paused=paused)


# A candidate of the task ({task}) has no cast vote of {judge}: they have not finished it.
_UNFINISHED_SQL = (
    "EXISTS (SELECT 1 FROM labeling_candidate c WHERE c.task_id = {task} AND NOT EXISTS ("
    "SELECT 1 FROM labeling_vote v WHERE v.candidate_id = c.id AND v.user_id = {judge} AND v.value <> %(withdrawn)s))"
)
# Other annotators who hold the task now and have not finished it (a holder who has no longer takes a slot).
_HELD_BY_OTHERS_SQL = (
    "(SELECT COUNT(*) FROM labeling_taskreservation h WHERE h.task_id = t.id AND h.expires_at > %(now)s"  # noqa: S608
    f" AND h.user_id <> %(user)s AND {_UNFINISHED_SQL.format(task='t.id', judge='h.user_id')})"
)
# Not the typist's own prompt where the project forbids judging it (``Task.judgeable_by``; the pause is settled
# before any statement: a paused person is handed nothing).
_NOT_OWN_PROMPT_SQL = (
    " NOT (p.forbid_self_voting AND t.source = %(typed)s AND t.created_by_id IS NOT NULL"
    " AND t.created_by_id = %(user)s)"
)
_TASKS_SQL = (
    "SELECT t.* FROM labeling_task t JOIN labeling_project p ON p.id = t.project_id"  # noqa: S608
    " JOIN labeling_taskjudgementcounts j ON j.task_id = t.id"
    " WHERE t.project_id = %(project)s AND {part}"
    f" AND {_UNFINISHED_SQL.format(task='t.id', judge='%(user)s')} AND {_NOT_OWN_PROMPT_SQL}{{only}}"
    " ORDER BY t.queued_at, t.id LIMIT 1{lock}"
)
# How many of the queue's tasks are open to the person (``tasks_open_for``: slots held by others not considered),
# counting up to a limit. In the queue's order, so that PostgreSQL walks its index and stops at the limit: left free
# to choose, it joined every task's candidates with the person's votes (300 ms for a newcomer at 62,500 tasks).
_OPEN_COUNT_SQL = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM labeling_task t JOIN labeling_project p ON p.id = t.project_id"  # noqa: S608
    " JOIN labeling_taskjudgementcounts j ON j.task_id = t.id"
    " WHERE t.project_id = %(project)s AND {part}"
    f" AND {_UNFINISHED_SQL.format(task='t.id', judge='%(user)s')} AND {_NOT_OWN_PROMPT_SQL}"
    " ORDER BY t.queued_at, t.id LIMIT %(limit)s) counted"
)
_AFTER_PLACE_SQL = " AND t.queued_at >= %(place_at)s AND (t.queued_at > %(place_at)s OR t.id > %(place_id)s)"
# The queue's parts (``tasks_unheld_for``), each on its own so that PostgreSQL walks its index in the queue's order:
# gold tasks, ready or complete, which have no slots to run out of; and the others after the person's place, ready,
# still missing judgements, from fewer other holders than they miss.
_OPEN_PARTS_SQL = {
    True: "t.gold IS NOT NULL AND t.status IN (%(ready)s, %(complete)s)",
    False: f"t.gold IS NULL AND t.status = %(ready)s{{after}} AND ({JUDGEMENTS_MISSING_SQL}) > 0",
}
_PARTS_SQL = {
    True: _OPEN_PARTS_SQL[True],
    False: f"{_OPEN_PARTS_SQL[False]} AND {_HELD_BY_OTHERS_SQL} < ({JUDGEMENTS_MISSING_SQL})",
}
# The first ready task after the place that the person has not finished and may judge (``tasks_passed_by``).
_FIRST_UNPASSED_SQL = (
    "SELECT t.id, t.queued_at FROM labeling_task t JOIN labeling_project p ON p.id = t.project_id"  # noqa: S608
    " WHERE t.project_id = %(project)s AND t.status = %(ready)s{after}"
    f" AND {_UNFINISHED_SQL.format(task='t.id', judge='%(user)s')} AND {_NOT_OWN_PROMPT_SQL}"
    " ORDER BY t.queued_at, t.id LIMIT 1"
)
_SLOT_SQL = (
    f"SELECT ({JUDGEMENTS_MISSING_SQL}), {_HELD_BY_OTHERS_SQL} FROM labeling_task t"  # noqa: S608
    " JOIN labeling_project p ON p.id = t.project_id JOIN labeling_taskjudgementcounts j ON j.task_id = t.id"
    " WHERE t.id = %(task)s"
)


def _params(*, user, project: Project, start: QueueStart | None = None, **more) -> dict:
    place_at, place_id = start.place if start is not None and start.place is not None else (None, None)
    return {
        "project": project.pk,
        "user": user.pk,
        "ready": Task.Status.READY.value,
        "complete": Task.Status.COMPLETE.value,
        "typed": Task.Source.TYPED.value,
        "withdrawn": int(Vote.Value.WITHDRAWN),
        "place_at": connection.ops.adapt_datetimefield_value(place_at),
        "place_id": place_id,
        **more,
    }


def _ids_sql(name: str, ids: Collection[int]) -> tuple[str, dict]:
    """``IN (…)`` placeholders for ``ids`` and their parameters."""
    params = {f"{name}_{n}": task_id for n, task_id in enumerate(ids)}
    return ", ".join(f"%({key})s" for key in params), params


def task_first_open(
    *,
    user,
    project: Project,
    start: QueueStart,
    now: datetime,
    gold: bool,
    skipped: bool | None = None,
    skipped_ids: Collection[int] = (),
    passed_over: Collection[int] = (),
    lock: str = "",
) -> Task | None:
    """The first task of the queue's gold part or of its other part that the user may take now (``tasks_unheld_for``
    in SQL): of the tasks the user skipped (``skipped`` True), of the others (False), or of all (None), leaving out
    ``passed_over``; ``lock``: locked, passing over tasks others have locked ("skip") or waiting for them ("wait")."""
    if start.paused:
        return None
    only, params = "", {}
    if skipped is not None and skipped_ids:
        placeholders, params = _ids_sql("skipped", skipped_ids)
        only += f" AND t.id {'IN' if skipped else 'NOT IN'} ({placeholders})"
    elif skipped:
        return None
    if passed_over:
        placeholders, passed = _ids_sql("passed", passed_over)
        only += f" AND t.id NOT IN ({placeholders})"
        params |= passed
    locks = {"": "", "skip": " FOR UPDATE OF t SKIP LOCKED", "wait": " FOR UPDATE OF t"}
    sql = _TASKS_SQL.format(
        part=_PARTS_SQL[gold].format(after=_AFTER_PLACE_SQL if start.place is not None else ""),
        only=only,
        # SQLite takes no row locks: its transactions write one at a time.
        lock=locks[lock] if connection.features.has_select_for_update else "",
    )
    now_param = connection.ops.adapt_datetimefield_value(now)
    params = _params(user=user, project=project, start=start, now=now_param, **params)
    return next(iter(Task.objects.raw(sql, params)), None)


def task_held_open(*, user, project: Project, start: QueueStart, held_ids: Collection[int]) -> Task | None:
    """The first of ``held_ids`` (the tasks the queue holds for the user) that is still open to them
    (``tasks_open_for`` in SQL): a hold on a task they have since finished gives them nothing back."""
    if start.paused or not held_ids:
        return None
    placeholders, params = _ids_sql("held", held_ids)
    ordinary = _OPEN_PARTS_SQL[False].format(after=_AFTER_PLACE_SQL if start.place is not None else "")
    sql = _TASKS_SQL.format(
        part=f"(({_OPEN_PARTS_SQL[True]}) OR ({ordinary}))", only=f" AND t.id IN ({placeholders})", lock=""
    )
    return next(iter(Task.objects.raw(sql, _params(user=user, project=project, start=start, **params))), None)


def task_first_unpassed(*, user, project: Project, start: QueueStart) -> tuple[datetime, int] | None:
    """The place of the first ready task after the user's marker that they have not finished and may judge (none
    for a paused person, who may judge nothing)."""
    if start.paused:
        return None
    sql = _FIRST_UNPASSED_SQL.format(after=_AFTER_PLACE_SQL if start.place is not None else "")
    task = next(iter(Task.objects.raw(sql, _params(user=user, project=project, start=start))), None)
    return (task.queued_at, task.pk) if task is not None else None


def task_has_slot_for(*, user, project: Project, task: Task, now: datetime) -> bool:
    """Whether the task, read afresh, still has a slot no other annotator holds (always, for a gold task): the
    queue's test again, for a task the caller has locked since it was found."""
    if task.gold is not None:
        return True
    now_param = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_SLOT_SQL, _params(user=user, project=project, task=task.pk, now=now_param))
        missing, held = cursor.fetchone()
    return held < missing


def tasks_open_count(*, user, project: Project, start: QueueStart, gold: bool, limit: int) -> int:
    """How many tasks of the queue's gold part or of its other part are open to the user (``tasks_open_for``),
    counted up to ``limit``."""
    if start.paused:
        return 0
    sql = _OPEN_COUNT_SQL.format(
        part=_OPEN_PARTS_SQL[gold].format(after=_AFTER_PLACE_SQL if start.place is not None else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(user=user, project=project, start=start, limit=limit))
        return cursor.fetchone()[0]
