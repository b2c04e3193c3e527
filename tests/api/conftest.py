"""API fixtures: clients with tokens, and for webhooks a real HTTP receiver on loopback that can be down, and Celery
running tasks as they are queued."""

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create
from api.webhooks.models import WebhookDelivery
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no requests counted against its tokens. In Redis (CI) every token is new, since
    PostgreSQL never hands an id out twice, and clearing the cache would flush the whole Redis database."""
    cache = caches["api-throttle"]
    if isinstance(cache, LocMemCache):
        cache.clear()


def token_for(user, scope: str = ApiToken.Scope.READ_WRITE, name: str = "pipeline", **fields) -> str:
    return api_token_create(user=user, name=name, scope=scope, **fields)[1]


_names = itertools.count(1)


def api(user=None, *, scope: str = ApiToken.Scope.READ_WRITE) -> APIClient:
    """A client that sends a new token of ``user`` (none for an anonymous caller)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scope, name=f'{scope} token {next(_names)}')}")
    return client


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on a fixed loopback port: ``start()`` / ``stop()`` bring it up and down; it answers
    ``status`` to every POST and keeps what it got in ``received``."""

    port: int
    status: int = 204
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/corral"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()
                if receiver.status >= 300:
                    self.wfile.write(b"receiver says no")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver():
    """Down until the test starts it: nothing listens on its port."""
    receiver = Receiver(port=free_port())
    yield receiver
    receiver.stop()


@pytest.fixture
def loopback_receivers_allowed(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def celery_runs_tasks_inline():
    """Queued tasks run at once in the queuing thread (``delay_on_commit`` ones when the transaction commits)."""
    from corral.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def time_passes() -> None:
    """Bring every pending delivery's next attempt to now, as if its wait were over (the clock is the rows')."""
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
