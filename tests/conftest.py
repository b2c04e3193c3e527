"""Shared fixtures.

Tests that need PostgreSQL, Redis or Chromium skip on a laptop without them;
with CORRAL_REQUIRE_SERVICES=1 (set by .ci/run) a missing one is an error.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from labeling.models import Membership, Project
from tests.factories import make_user, member

# Fixtures shared by every folder: a real S3-compatible server and a bucket of the test's own.
pytest_plugins = ["tests.object_storage"]

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# made by tests around it are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVICES_REQUIRED = os.environ.get("CORRAL_REQUIRE_SERVICES") == "1"


def missing(what: str) -> None:
    """Skip on a developer machine; fail in CI, where every service must be there."""
    if SERVICES_REQUIRED:
        pytest.fail(f"{what} is required (CORRAL_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session, and tests that call async_to_sync from the main thread cannot run after it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing("PostgreSQL (set DATABASE_URL)")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL:
        missing("Redis (set REDIS_URL)")
    if request.node.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        missing(f"Chromium at {CHROMIUM}")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; real password hashing would make them slow and test nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def project(db) -> Project:
    return Project.objects.create(slug="birds", name="Birds", kind=Project.Kind.IMAGE)


@pytest.fixture
def text_project(db) -> Project:
    return Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT, candidates_per_task=1)


@pytest.fixture
def annotator(project) -> User:
    return member(project, "annie", role=Membership.Role.ANNOTATOR)


@pytest.fixture
def reviewer(project) -> User:
    return member(project, "rita", role=Membership.Role.REVIEWER)


@pytest.fixture
def manager(project) -> User:
    return member(project, "max", role=Membership.Role.MANAGER)


@pytest.fixture
def outsider(db) -> User:
    """A member of another project only."""
    other = Project.objects.create(slug="elsewhere", name="Elsewhere")
    return member(other, "otto", role=Membership.Role.MANAGER)


@pytest.fixture
def staff(db) -> User:
    return make_user("stella", is_staff=True, is_superuser=True)


def free_port() -> int:
    """A loopback port nothing listens on now: free to serve on, and refused to connect to."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db):
    """The real ASGI app (HTTP and websockets) under uvicorn on a loopback port; yields its base URL."""
    from corral.server import build_server, serve

    server = build_server(host="127.0.0.1", port=free_port(), log_level="warning")
    thread = threading.Thread(target=serve, args=(server,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the ASGI test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        missing(f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def login_page(browser, asgi_server):
    """``login_page(user)`` → a Playwright page whose session is logged in as ``user``."""
    from django.test import Client

    contexts = []

    def _login(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(base_url=asgi_server)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": asgi_server,
                }
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield _login
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """Static files collected once, as a release does: DEBUG off serves them from a manifest."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY, "STATIC_ROOT": str(root)}
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return root
