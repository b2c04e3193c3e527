"""The pieces of a request served on the event loop without Django's request stack (see labeling/fast_vote.py).

A fast handler answers only a request that Django would accept with exactly these checks: an allowed host,
HTTPS where required, a same-origin ``Origin`` header, a well-formed CSRF cookie matching the request's token,
an unexpired session of an active user whose session hash matches their password. Anything else, or
anything unusual (a repeated header, an old masked CSRF cookie, a session that needs rotating), goes to
Django unchanged, which answers it as it answers every request. A fast handler never refuses: it either
does exactly what Django would do, or hands over before writing anything.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connections
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.middleware.csrf import CSRF_SECRET_LENGTH, InvalidTokenFormat, _check_token_format, _does_token_match
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.models import User
from accounts.sessions import SessionStore
from corral.logs import log_request_line, request_id_from

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A vote's form body is a few dozen bytes; anything longer is not one a fast handler needs to understand.
MAX_FAST_BODY_BYTES = 1024
USER_BACKEND = "accounts.backends.UserBackend"
# The middleware a fast handler stands in for. Another list means checks it does not know about: hand over.
EXPECTED_MIDDLEWARE = [
    "corral.logs.request_log_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]


def fast_path_unavailable_because() -> str | None:
    """Why the settings rule fast handling out, or None when they allow it."""
    if not settings.FAST_VOTE_PATH:
        return "FAST_VOTE_PATH is off"
    if connections["default"].vendor != "postgresql":
        return "the database is not PostgreSQL"
    if list(settings.MIDDLEWARE) != EXPECTED_MIDDLEWARE:
        return "MIDDLEWARE differs from the list the fast path stands in for"
    if settings.SESSION_ENGINE != "accounts.sessions" or settings.SESSION_SAVE_EVERY_REQUEST:
        return "sessions are not the plain accounts.sessions rows"
    if USER_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        return f"{USER_BACKEND} is not an authentication backend"
    if settings.CSRF_USE_SESSIONS or settings.USE_X_FORWARDED_HOST:
        return "CSRF_USE_SESSIONS or USE_X_FORWARDED_HOST is on"
    return None


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request, and the session and user rows they were authenticated from."""

    id: int
    is_superuser: bool
    public_id: str
    session_key: str
    session_data: str
    password: str = field(repr=False)


@dataclass
class FastRequest:
    scope: Scope
    headers: dict[bytes, bytes]
    body: bytes
    started: float
    request_id: str

    @property
    def path(self) -> str:
        return self.scope["path"]

    @property
    def method(self) -> str:
        return self.scope["method"]

    def form(self) -> dict[str, str] | None:
        """The urlencoded body as Django's ``request.POST.get`` reads it (the last of repeated names), or None."""
        content_type = self.headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type != b"application/x-www-form-urlencoded":
            return None
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return None


async def read_request(scope: Scope, receive: Receive) -> tuple[FastRequest | None, list[dict]]:
    """The request with its whole (small) body, or None; and the messages read, to replay when handing over."""
    messages: list[dict] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        body += message.get("body", b"")
        if len(body) > MAX_FAST_BODY_BYTES:
            return None, messages
        if not message.get("more_body"):
            break
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers:
            return None, messages  # a repeated header: leave its meaning to Django
        headers[name] = value
    sent_id = headers.get(b"x-request-id")
    request = FastRequest(
        scope=scope,
        headers=headers,
        body=body,
        started=time.perf_counter(),
        request_id=request_id_from(sent_id.decode("latin-1") if sent_id else None),
    )
    return request, messages


def replaying(messages: list[dict], receive: Receive) -> Receive:
    """A ``receive`` that first gives back the messages already read, then the connection's own."""
    pending = list(messages)

    async def replay() -> dict:
        return pending.pop(0) if pending else await receive()

    return replay


def _is_secure(request: FastRequest) -> bool:
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, secure_value = proxy_header
        sent = request.headers.get(name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if sent is not None:
            return sent.decode("latin-1").split(",", 1)[0].strip() == secure_value
    return request.scope.get("scheme") == "https"


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def passes_request_checks(request: FastRequest, form: dict[str, str]) -> bool:
    """True when Django's host, HTTPS and CSRF checks would all accept this POST without writing a cookie."""
    host = request.headers.get(b"host", b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    secure = _is_secure(request)
    if settings.SECURE_SSL_REDIRECT and not secure:
        return False
    # Browsers send Origin with every POST; without one Django falls back to the Referer, which is left to it.
    origin = request.headers.get(b"origin", b"").decode("latin-1")
    if origin != f"{'https' if secure else 'http'}://{host}" and origin not in settings.CSRF_TRUSTED_ORIGINS:
        return False
    cookies = parse_cookie(request.headers.get(b"cookie", b"").decode("latin-1"))
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    # Only the current cookie form (the bare secret): an old masked one makes Django rewrite the cookie.
    if len(secret) != CSRF_SECRET_LENGTH:
        return False
    token = form.get("csrfmiddlewaretoken", "")
    if token == "":
        header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").lower().replace("_", "-").encode()
        token = request.headers.get(header, b"").decode("latin-1")
    try:
        _check_token_format(secret)
        _check_token_format(token)
    except InvalidTokenFormat:
        return False
    return _does_token_match(token, secret)


def session_key_of(request: FastRequest) -> str | None:
    cookies = parse_cookie(request.headers.get(b"cookie", b"").decode("latin-1"))
    return cookies.get(settings.SESSION_COOKIE_NAME) or None


@lru_cache(maxsize=4096)
def _session_login(session_data: str) -> tuple[int, str] | None:
    """(user id, session hash) of a session row's data logged in through UserBackend, or None."""
    session = SessionStore().decode(session_data)
    try:
        user_id = int(session[SESSION_KEY])
        backend, session_hash = session[BACKEND_SESSION_KEY], session[HASH_SESSION_KEY]
    except (KeyError, TypeError, ValueError):
        return None
    if backend != USER_BACKEND or not isinstance(session_hash, str):
        return None
    return user_id, session_hash


@lru_cache(maxsize=4096)
def _session_hash_for(password: str) -> str:
    return User(password=password).get_session_auth_hash()


SESSION_SQL = "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s"
USER_SQL = "SELECT password, is_active, is_superuser, public_id FROM accounts_user WHERE id = %s"
# The callers of a batch of writes, as columns of the statement's ``sent`` rows (built by ``unnest`` from the arrays
# of ``caller_arrays``), and the condition under which each is still the caller authenticated earlier: their
# session row and user row hold what was checked (so the Python checks would give the same answer) and the
# session has not expired. Fast handlers put it into their write, so a remembered caller costs no statement.
CALLER_ARRAYS_SQL = (
    "%(user)s::bigint[], %(superuser)s::boolean[], %(session_key)s::text[], %(session_data)s::text[],"
    " %(password)s::text[]"
)
CALLER_COLUMNS_SQL = "user_id, superuser, session_key, session_data, password"
CALLER_UNCHANGED_SQL = (
    "EXISTS (SELECT 1 FROM django_session WHERE session_key = sent.session_key"
    " AND session_data = sent.session_data AND expire_date > %(now)s)"
    " AND EXISTS (SELECT 1 FROM accounts_user WHERE id = sent.user_id AND is_active"
    " AND password = sent.password AND is_superuser = sent.superuser)"
)
# Callers per session key, as last authenticated by this process; bounded, and never trusted without the condition.
_callers_by_session: dict[str, Caller] = {}
CALLERS_REMEMBERED = 16384


def remembered_caller(request: FastRequest) -> Caller | None:
    """The caller this process last authenticated with the request's session, to be confirmed by the write."""
    session_key = session_key_of(request)
    return _callers_by_session.get(session_key) if session_key else None


def caller_arrays(callers: list[Caller]) -> dict[str, list]:
    """The parameters of CALLER_ARRAYS_SQL: one array element per caller."""
    return {
        "user": [caller.id for caller in callers],
        "superuser": [caller.is_superuser for caller in callers],
        "session_key": [caller.session_key for caller in callers],
        "session_data": [caller.session_data for caller in callers],
        "password": [caller.password for caller in callers],
    }


async def authenticated_caller(connection, request: FastRequest) -> Caller | None:
    """The logged-in user as Django's session and authentication middleware would find them, or None.

    None also where Django would change the session (a hash valid only under an old SECRET_KEY): the request
    then goes to Django, which does that. The caller is remembered for the session's next requests.
    """
    session_key = session_key_of(request)
    if session_key is None:
        return None
    row = await (await connection.execute(SESSION_SQL, (session_key, timezone.now()))).fetchone()
    if row is None:
        return None
    session_data = row[0]
    login = _session_login(session_data)
    if login is None:
        return None
    user_id, session_hash = login
    user_row = await (await connection.execute(USER_SQL, (user_id,))).fetchone()
    if user_row is None:
        return None
    password, is_active, is_superuser, public_id = user_row
    if not is_active or not constant_time_compare(session_hash, _session_hash_for(password)):
        return None
    caller = Caller(
        id=user_id,
        is_superuser=is_superuser,
        public_id=str(public_id),
        session_key=session_key,
        session_data=session_data,
        password=password,
    )
    if len(_callers_by_session) >= CALLERS_REMEMBERED:
        _callers_by_session.clear()
    _callers_by_session[session_key] = caller
    return caller


async def written_for_caller(
    request: FastRequest, pool, write: Callable[[Caller], Awaitable[bool]]
) -> Caller | None:
    """The request's caller once ``write(caller)`` has written for them; None when it wrote nothing.

    A caller remembered from an earlier request is confirmed by the write itself (CALLER_UNCHANGED_SQL); only
    when that fails (a new session, a changed one, or a refusal) is the caller authenticated afresh on a
    connection of ``pool`` and the write tried again.
    """
    caller = remembered_caller(request)
    if caller is not None and await write(caller):
        return caller
    async with pool.connection() as connection:
        caller = await authenticated_caller(connection, request)
    if caller is not None and await write(caller):
        return caller
    return None


Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class WriteBatcher(Generic[Item, Outcome]):  # noqa: UP046 (Python 3.11)
    """Writes submitted while one is running go to the database together, as one statement, when it ends.

    Each fast request would otherwise pay its own round trip, statement and commit; under load, the requests a
    process has in flight share them. Nothing waits on purpose: with no write running, one starts at the event
    loop's next turn, with whatever was submitted by then. (Two writers at once were measured too: slower, with
    a long tail, as the two batches compete for the same cores.)
    Items with the same ``key`` (the row they write) never share a batch: a repeated one waits for the next, so
    one statement never writes a row twice and the later item is written last. ``write`` gets the items and
    returns one outcome per item, in order; if it raises, every item of its batch gets the exception.
    ``idle``, if given, runs whenever nothing is waiting, before the writer stops: work a write leaves for the
    next one to carry is done then, when no next write comes.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], Awaitable[list[Outcome]]],
        key: Callable[[Item], Hashable],
        *,
        idle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._write = write
        self._key = key
        self._idle = idle
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._drain_task: asyncio.Task | None = None

    async def submit(self, item: Item) -> Outcome:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if not batch and self._idle is not None:
                    await self._idle()
                    batch = self._next_batch()
                if not batch:
                    break
                await self._write_batch(batch)
        finally:
            # In the same step as the last look at the queue, so an item submitted after it starts a new drain.
            self._drain_task = None

    async def _write_batch(self, batch: list[tuple[Item, asyncio.Future]]) -> None:
        try:
            outcomes = await self._write([item for item, _future in batch])
        except Exception as error:
            for _item, future in batch:
                if not future.done():
                    future.set_exception(error)
        else:
            for (_item, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    def _next_batch(self) -> list[tuple[Item, asyncio.Future]]:
        batch, later, taken = [], [], set()
        for entry in self._waiting:
            key = self._key(entry[0])
            (later if key in taken else batch).append(entry)
            taken.add(key)
        self._waiting = later
        return batch


def response_headers(request: FastRequest, *, content_type: str, length: int) -> list[tuple[bytes, bytes]]:
    """The headers Django's middleware would put on this response (security, framing, Vary, request id)."""
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(length).encode()),
        (b"vary", b"Cookie"),
        (b"x-request-id", request.request_id.encode()),
    ]
    if settings.SECURE_HSTS_SECONDS and _is_secure(request):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = policy if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", value.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.upper().encode()))
    return headers


async def respond(
    send: Send, request: FastRequest, *, status: int, body: bytes, content_type: str, route: str, caller: Caller
) -> None:
    # Logged before sending, as Django's request log middleware does, so the line is there when the client has it.
    log_request_line(
        request_id=request.request_id,
        method=request.method,
        path=request.path,
        route=route,
        status=status,
        started=request.started,
        user=caller.public_id,
        fast_path=True,
    )
    headers = response_headers(request, content_type=content_type, length=len(body))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
