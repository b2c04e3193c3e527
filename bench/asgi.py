"""bench/vote_load.py's server application: Corral's, plus the floor endpoint on the same fast stack.

``POST /bench/floor`` does the least a fast vote must: the same request checks (host, origin, CSRF) and
session authentication as labeling/fast_vote.py (a remembered caller confirmed inside the write, as there),
then one upserted vote row. Served only when ``bench.settings`` is the settings module.
"""

from django.utils import timezone

from corral.asgi import application as corral_application
from corral.asgi import http_application
from corral.fast_http import (
    CALLER_UNCHANGED_SQL,
    authenticated_caller,
    caller_unchanged_params,
    passes_request_checks,
    read_request,
    remembered_caller,
    replaying,
    respond,
)
from labeling.fast_vote import FastVoteApplication
from labeling.models import Vote

FLOOR_PATH = "/bench/floor"
FLOOR_SQL = (
    "INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)"  # noqa: S608
    f" SELECT %(user)s, %(candidate)s, %(value)s, %(now)s, %(now)s WHERE {CALLER_UNCHANGED_SQL}"
    " ON CONFLICT (user_id, candidate_id) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
    " RETURNING 1"
)


async def upserted(connection, caller, candidate: int) -> bool:
    now = timezone.now()
    params = {**caller_unchanged_params(caller, now), "candidate": candidate, "value": int(Vote.Value.UP)}
    return await (await connection.execute(FLOOR_SQL, params)).fetchone() is not None


async def floor(scope, receive, send):
    if scope["type"] != "http" or scope["path"] != FLOOR_PATH or scope["method"] != "POST":
        return await corral_application(scope, receive, send)
    request, messages = await read_request(scope, receive)
    form = request.form() if request is not None else None
    if form is None or not passes_request_checks(request, form):
        return await corral_application(scope, replaying(messages, receive), send)
    assert isinstance(http_application, FastVoteApplication), "the floor needs the fast path's settings"
    candidate = int(form["candidate"])
    async with (await http_application.connection_pool()).connection() as connection:
        caller = remembered_caller(request)
        if caller is None or not await upserted(connection, caller, candidate):
            caller = await authenticated_caller(connection, request)
            if caller is None or not await upserted(connection, caller, candidate):
                return await corral_application(scope, replaying(messages, receive), send)
    await respond(send, request, status=204, body=b"", content_type="text/plain", route="bench-floor", caller=caller)


application = floor
