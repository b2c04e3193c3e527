"""bench/vote_load.py's server application: Corral's, plus the floor endpoint on the same fast stack.

``POST /bench/floor`` does the least a fast vote must: the same request checks (host, origin, CSRF) and
session authentication as labeling/fast_vote.py, then one upserted vote row. Served only when
``bench.settings`` is the settings module.
"""

from django.utils import timezone

from corral.asgi import application as corral_application
from corral.asgi import http_application
from corral.fast_http import authenticated_caller, passes_request_checks, read_request, replaying, respond
from labeling.fast_vote import FastVoteApplication
from labeling.models import Vote
from labeling.services import VOTE_UPSERT_SQL

FLOOR_PATH = "/bench/floor"


async def floor(scope, receive, send):
    if scope["type"] != "http" or scope["path"] != FLOOR_PATH or scope["method"] != "POST":
        return await corral_application(scope, receive, send)
    request, messages = await read_request(scope, receive)
    form = request.form() if request is not None else None
    if form is None or not passes_request_checks(request, form):
        return await corral_application(scope, replaying(messages, receive), send)
    assert isinstance(http_application, FastVoteApplication), "the floor needs the fast path's settings"
    async with (await http_application.connection_pool()).connection() as connection:
        caller = await authenticated_caller(connection, request)
        if caller is None:
            return await corral_application(scope, replaying(messages, receive), send)
        now = timezone.now()
        await connection.execute(VOTE_UPSERT_SQL, (caller.id, int(form["candidate"]), int(Vote.Value.UP), now, now))
    await respond(send, request, status=204, body=b"", content_type="text/plain", route="bench-floor", caller=caller)


application = floor
