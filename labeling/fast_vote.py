"""The vote POST answered on the event loop: the hot path of annotation, without Django's request stack.

Annotators vote many times a minute, and each vote through Django's middleware, ORM and view cost several
milliseconds of CPU; the same work as prepared statements on an async connection costs a fraction of that.
``FastVoteApplication`` wraps the site's HTTP application and answers only an htmx 👍/👎 that Django would
accept (corral/fast_http.py's checks, then the caller's authentication and vote_cast's rules as the condition
of an INSERT … ON CONFLICT, which the votes a process has in flight share), with the same response Django
would give. Everything else goes to Django unchanged: other pages, withdrawals, plain-form posts, and every
refusal, which Django then explains. A vote whose statement fails is handed over too, and repeating it there
is harmless (the vote is an upsert).

One difference from vote_cast: a task that a vote fills is marked complete by the process's next statement (or,
when none follows, its idle turn), a moment after the vote's answer rather than before it. Completion must run
after the votes commit, so carrying it in the next statement saves one per batch. The queue never hands out a
full task meanwhile: it counts the votes itself.
"""

import asyncio
import logging
import re
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from types import SimpleNamespace
from uuid import UUID

from django.conf import settings
from django.db import connections
from django.template.loader import get_template
from django.utils import timezone
from psycopg_pool import AsyncConnectionPool

from corral.fast_http import (
    CALLER_ARRAYS_SQL,
    CALLER_COLUMNS_SQL,
    CALLER_UNCHANGED_SQL,
    ASGIApp,
    Caller,
    FastRequest,
    Receive,
    Scope,
    Send,
    WriteBatcher,
    caller_arrays,
    fast_path_unavailable_because,
    passes_request_checks,
    read_request,
    replaying,
    respond,
    written_for_caller,
)
from labeling.models import Membership, Task, Vote
from labeling.services import VOTABLE_STATUSES

logger = logging.getLogger(__name__)

VOTE_PATH = re.compile(r"/candidates/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/vote")
FAST_VALUES = {"up": Vote.Value.UP, "down": Vote.Value.DOWN}
ROUTE = "labeling-vote"
PLACEHOLDER_UID = UUID(int=0)
DJANGO_ONLY_CONNECTION_PARAMS = {"cursor_factory", "context", "prepare_threshold"}
ANNOTATING_ROLES = [
    role for role, capabilities in Membership.CAPABILITIES.items() if Membership.Capability.ANNOTATE in capabilities
]
# labeling.services' completion (TASK_COMPLETE_IF_FULL_SQL) for the tasks voted on by earlier statements: it runs
# after their votes committed, so whichever of several concurrent statements checks a task last sees all of them.
# A task is full only if the candidate voted on is, so that one count comes first and most tasks stop there. The
# least-voted candidate is a scalar subquery, read per task through the candidate index: written as NOT EXISTS,
# the planner made it a hash anti join over every candidate of every project, a cost that grew with the table.
COMPLETE_DUE_TASKS_SQL = (
    "UPDATE labeling_task t SET status = %(complete)s, updated_at = %(now)s"
    " FROM labeling_project p, unnest(%(due_tasks)s::bigint[], %(due_candidates)s::bigint[])"
    " AS voted(task_id, candidate_id)"
    " WHERE t.id = voted.task_id AND t.status = %(ready)s AND p.id = t.project_id"
    " AND (SELECT COUNT(*) FROM labeling_vote v WHERE v.candidate_id = voted.candidate_id AND v.value <> %(withdrawn)s)"
    " >= p.votes_per_candidate AND ("
    " SELECT MIN((SELECT COUNT(*) FROM labeling_vote v WHERE v.candidate_id = c.id AND v.value <> %(withdrawn)s))"
    " FROM labeling_candidate c WHERE c.task_id = t.id) >= p.votes_per_candidate"
)
# vote_cast's rules, get_candidate_for_vote's access check and each caller's authentication as the condition of one
# INSERT … ON CONFLICT for a batch of votes: a vote's position comes back only when it was allowed and written.
# Rows are written in key order, so two batches never wait for each other's rows in a cycle. The same statement
# completes the tasks the previous one voted on, saving a statement per batch. (Composed of constants only.)
VOTES_IF_ALLOWED_SQL = (
    "WITH sent AS ("  # noqa: S608
    f" SELECT * FROM unnest(%(uid)s::text[]::uuid[], %(value)s::smallint[], {CALLER_ARRAYS_SQL})"
    f" WITH ORDINALITY AS sent(uid, value, {CALLER_COLUMNS_SQL}, position)"
    "), target AS ("
    " SELECT sent.position, sent.user_id, sent.value, c.id AS candidate_id, c.task_id FROM sent"
    " JOIN labeling_candidate c ON c.uid = sent.uid JOIN labeling_task t ON t.id = c.task_id"
    " JOIN labeling_project p ON p.id = t.project_id"
    " WHERE t.status = ANY(%(votable)s)"
    " AND NOT (p.forbid_self_voting AND t.source = %(typed)s AND t.created_by_id IS NOT DISTINCT FROM sent.user_id)"
    " AND (sent.superuser OR EXISTS (SELECT 1 FROM labeling_membership m"
    " WHERE m.user_id = sent.user_id AND m.project_id = p.id AND m.role = ANY(%(roles)s)))"
    f" AND {CALLER_UNCHANGED_SQL}"
    "), written AS ("
    " INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)"
    " SELECT user_id, candidate_id, value, %(now)s, %(now)s FROM target ORDER BY user_id, candidate_id"
    " ON CONFLICT (user_id, candidate_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
    " RETURNING user_id, candidate_id"
    f"), completed AS ({COMPLETE_DUE_TASKS_SQL} RETURNING t.id)"
    " SELECT target.position, target.task_id, target.candidate_id FROM target"
    " JOIN written USING (user_id, candidate_id)"
)


class CompletionsDue:
    """Tasks voted on by a process's committed statements and not yet checked for completion: task → a voted candidate.

    The next vote statement checks them, or, when no vote follows, the batcher's idle turn, a moment after the
    votes' answers. Until then the queue already passes a full task by (it counts the votes itself).
    """

    def __init__(self) -> None:
        self.voted_candidate_by_task: dict[int, int] = {}

    def take(self) -> dict[int, int]:
        taken, self.voted_candidate_by_task = self.voted_candidate_by_task, {}
        return taken

    def add(self, voted_candidate_by_task: dict[int, int]) -> None:
        self.voted_candidate_by_task.update(voted_candidate_by_task)

    @staticmethod
    def params(taken: dict[int, int], now) -> dict:
        tasks = sorted(taken)
        return {
            "due_tasks": tasks,
            "due_candidates": [taken[task] for task in tasks],
            "complete": Task.Status.COMPLETE,
            "ready": Task.Status.READY,
            "withdrawn": int(Vote.Value.WITHDRAWN),
            "now": now,
        }


@dataclass(frozen=True)
class PendingVote:
    caller: Caller
    uid: str  # as the path gave it: VOTE_PATH admits only the canonical lower-case form
    value: Vote.Value

    @property
    def row(self) -> tuple[int, str]:
        return self.caller.id, self.uid


@dataclass(frozen=True)
class LoopResources:
    pool: AsyncConnectionPool
    votes: WriteBatcher[PendingVote, bool]
    due: CompletionsDue


class FastVoteApplication:
    """ASGI HTTP application: fast votes here, every other request to ``django_app``."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app
        # Per event loop (a server runs one; tests start and stop several), made once by the loop's first vote.
        self.loops: dict[asyncio.AbstractEventLoop, asyncio.Task[LoopResources]] = {}
        # The buttons depend only on the candidate's uid and the vote, so each vote's buttons are rendered once
        # with a placeholder uid (Django would render the same template the same way every time).
        template = get_template("labeling/_vote_buttons.html")
        self.buttons = {
            value: template.render(
                {"candidate": SimpleNamespace(uid=PLACEHOLDER_UID, my_vote=int(value)), "csrf_in_headers": True}
            )
            for value in FAST_VALUES.values()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = VOTE_PATH.fullmatch(scope["path"]) if scope["method"] == "POST" and not scope.get("root_path") else None
        if match is None:
            return await self.django_app(scope, receive, send)
        request, messages = await read_request(scope, receive)
        if request is not None and await self._answered(request, match[1], send):
            return None
        return await self.django_app(scope, replaying(messages, receive), send)

    async def _answered(self, request: FastRequest, uid: str, send: Send) -> bool:
        form = request.form()
        if form is None or request.headers.get(b"hx-request") != b"true":
            return False
        value = FAST_VALUES.get(form.get("value", ""))
        if value is None or not passes_request_checks(request, form):
            return False
        try:
            caller = await self._vote_by_request_caller(request, uid=uid, value=value)
        except Exception:
            # Django runs the request again from the start and answers whatever went wrong (a 503 when the
            # database is down); the vote, if it was written, is an upsert and is written again.
            logger.warning("fast vote failed; handing the request to Django", exc_info=True)
            return False
        if caller is None:
            return False
        body = self.buttons[value].replace(str(PLACEHOLDER_UID), uid)
        await respond(
            send,
            request,
            status=200,
            body=body.encode(),
            content_type="text/html; charset=utf-8",
            route=ROUTE,
            caller=caller,
        )
        return True

    async def _vote_by_request_caller(self, request: FastRequest, *, uid: str, value: Vote.Value) -> Caller | None:
        """The vote written for the request's caller, who is returned; None, with nothing written, for Django."""
        resources = await self.resources()

        async def vote(caller: Caller) -> bool:
            return await resources.votes.submit(PendingVote(caller, uid, value))

        return await written_for_caller(request, resources.pool, vote)

    async def resources(self) -> LoopResources:
        """The running loop's pool and vote batcher; concurrent first votes share the one being made."""
        loop = asyncio.get_running_loop()
        if loop not in self.loops:
            self.loops[loop] = asyncio.create_task(_loop_resources())
        return await self.loops[loop]

    async def close(self) -> None:
        """At server shutdown: complete what is due, then close the pool of the running loop."""
        made = self.loops.pop(asyncio.get_running_loop(), None)
        if made is not None:
            resources = await made
            await _complete_due(resources.pool, resources.due)
            await resources.pool.close()


async def _loop_resources() -> LoopResources:
    # Django's own connection parameters, less its Python-side adapters for its synchronous cursors.
    params = connections["default"].get_connection_params()
    kwargs = {key: value for key, value in params.items() if key not in DJANGO_ONLY_CONNECTION_PARAMS}
    pool = AsyncConnectionPool(
        kwargs={**kwargs, "autocommit": True},
        min_size=settings.FAST_VOTE_POOL_SIZE,
        max_size=settings.FAST_VOTE_POOL_SIZE,
        timeout=settings.FAST_VOTE_POOL_TIMEOUT_SECONDS,
        open=False,
    )
    await pool.open()
    due = CompletionsDue()
    votes = WriteBatcher(
        partial(_votes_write, pool, due), key=attrgetter("row"), idle=partial(_complete_due, pool, due)
    )
    return LoopResources(pool=pool, votes=votes, due=due)


async def _votes_write(pool: AsyncConnectionPool, due: CompletionsDue, votes: list[PendingVote]) -> list[bool]:
    """vote_cast for a batch of up and down votes: whether each was written (False: refused, nothing written).

    The statement also completes the tasks due from earlier statements; this batch's tasks are due next.
    """
    now = timezone.now()
    taken = due.take()
    params = {
        **caller_arrays([vote.caller for vote in votes]),
        **CompletionsDue.params(taken, now),
        "uid": [vote.uid for vote in votes],
        "value": [int(vote.value) for vote in votes],
        "votable": list(VOTABLE_STATUSES),
        "typed": Task.Source.TYPED,
        "roles": ANNOTATING_ROLES,
    }
    try:
        async with pool.connection() as connection:
            written = await (await connection.execute(VOTES_IF_ALLOWED_SQL, params)).fetchall()
    except Exception:
        # Nothing of the statement committed: its due tasks stay due; its votes go to Django, which completes.
        due.add(taken)
        raise
    due.add({task_id: candidate_id for _position, task_id, candidate_id in written})
    positions = {position for position, _task_id, _candidate_id in written}
    return [position in positions for position in range(1, len(votes) + 1)]


async def _complete_due(pool: AsyncConnectionPool, due: CompletionsDue) -> None:
    """The completion the next vote statement would have carried, when none comes."""
    taken = due.take()
    if not taken:
        return
    try:
        async with pool.connection() as connection:
            await connection.execute(COMPLETE_DUE_TASKS_SQL, CompletionsDue.params(taken, timezone.now()))
    except Exception:
        due.add(taken)
        logger.warning("could not complete the tasks of fast votes; trying again with the next vote", exc_info=True)


def fast_vote_application(django_app: ASGIApp) -> ASGIApp:
    """``django_app`` wrapped with fast votes, or unchanged where the settings rule them out (logged once)."""
    reason = fast_path_unavailable_because()
    if reason is not None:
        logger.info("votes go through Django: %s", reason)
        return django_app
    return FastVoteApplication(django_app)
