"""bench/vote_load.py's server application: Corral's, plus the floor endpoint on the same fast stack.

``POST /bench/floor`` does the least a fast vote must: the same request checks (host, origin, CSRF) and
session authentication as labeling/fast_vote.py (a remembered caller confirmed inside the write, and the
requests in flight sharing one statement, as there), then one upserted vote row. Served only when
``bench.settings`` is the settings module.
"""

import asyncio
from dataclasses import dataclass
from functools import partial
from operator import attrgetter

from django.utils import timezone
from psycopg_pool import AsyncConnectionPool

from corral.asgi import application as corral_application
from corral.asgi import http_application
from corral.fast_http import (
    CALLER_ARRAYS_SQL,
    CALLER_COLUMNS_SQL,
    CALLER_UNCHANGED_SQL,
    Caller,
    WriteBatcher,
    caller_arrays,
    passes_request_checks,
    read_request,
    replaying,
    respond,
    written_for_caller,
)
from labeling.fast_vote import FastVoteApplication
from labeling.models import Vote

FLOOR_PATH = "/bench/floor"
FLOOR_SQL = (
    "WITH sent AS ("  # noqa: S608
    f" SELECT * FROM unnest(%(candidate)s::bigint[], {CALLER_ARRAYS_SQL})"
    f" WITH ORDINALITY AS sent(candidate_id, {CALLER_COLUMNS_SQL}, position)"
    "), written AS ("
    " INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)"
    f" SELECT user_id, candidate_id, %(value)s, %(now)s, %(now)s FROM sent WHERE {CALLER_UNCHANGED_SQL}"
    " ORDER BY user_id, candidate_id"
    " ON CONFLICT (user_id, candidate_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
    " RETURNING user_id, candidate_id)"
    " SELECT sent.position FROM sent JOIN written USING (user_id, candidate_id)"
)


@dataclass(frozen=True)
class FloorRow:
    caller: Caller
    candidate: int

    @property
    def row(self) -> tuple[int, int]:
        return self.caller.id, self.candidate


async def floor_write(pool: AsyncConnectionPool, rows: list[FloorRow]) -> list[bool]:
    params = {
        **caller_arrays([row.caller for row in rows]),
        "candidate": [row.candidate for row in rows],
        "value": int(Vote.Value.UP),
        "now": timezone.now(),
    }
    async with pool.connection() as connection:
        written = {position for (position,) in await (await connection.execute(FLOOR_SQL, params)).fetchall()}
    return [position in written for position in range(1, len(rows) + 1)]


batchers: dict[asyncio.AbstractEventLoop, WriteBatcher[FloorRow, bool]] = {}


def floor_batcher(pool: AsyncConnectionPool) -> WriteBatcher[FloorRow, bool]:
    loop = asyncio.get_running_loop()
    if loop not in batchers:
        batchers[loop] = WriteBatcher(partial(floor_write, pool), key=attrgetter("row"))
    return batchers[loop]


async def floor(scope, receive, send):
    if scope["type"] != "http" or scope["path"] != FLOOR_PATH or scope["method"] != "POST":
        return await corral_application(scope, receive, send)
    request, messages = await read_request(scope, receive)
    form = request.form() if request is not None else None
    if form is None or not passes_request_checks(request, form):
        return await corral_application(scope, replaying(messages, receive), send)
    assert isinstance(http_application, FastVoteApplication), "the floor needs the fast path's settings"
    pool = (await http_application.resources()).pool
    batcher = floor_batcher(pool)
    candidate = int(form["candidate"])

    async def upsert(caller: Caller) -> bool:
        return await batcher.submit(FloorRow(caller, candidate))

    caller = await written_for_caller(request, pool, upsert)
    if caller is None:
        return await corral_application(scope, replaying(messages, receive), send)
    await respond(send, request, status=204, body=b"", content_type="text/plain", route="bench-floor", caller=caller)


application = floor
