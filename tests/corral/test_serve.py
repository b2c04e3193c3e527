"""The README's production command: ``manage.py serve --workers N`` on PostgreSQL and Redis: HTTP through granian's
WSGI workers, websockets through their own server on the websocket port."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from websockets.sync.client import connect

from generation.models import GenerationJob
from labeling.models import Membership, Task, Vote
from tests.conftest import free_port
from tests.factories import make_ready_task, make_user

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        DEBUG="0",
        # The sessions made by this test are signed with this process's key.
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        CORRAL_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def post(url: str, *, session: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    csrf = secrets.token_hex(16)
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
            "X-CSRFToken": csrf,
            "HX-Request": "true",
            "Content-Type": "application/x-www-form-urlencoded",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
            return
        except urllib.error.HTTPError:  # 503 until a worker has reported: the server answers all the same
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the server did not start: {log.read_text()[-3000:]}")


def test_several_processes_serve_votes_and_websockets_apart_and_log_no_requests_below_the_log_level(
    project, tmp_path, static_root
):
    annotator = make_user("serve-annotator")
    Membership.objects.create(user=annotator, project=project)
    candidates = list(make_ready_task(project).candidates.order_by("index"))
    generating = Task.objects.create(project=project, prompt="an owl", source=Task.Source.BATCH, status="generating")
    job = GenerationJob.objects.create(
        task=generating, kind="image", status="running", progress_step=2, progress_total=8
    )
    client = Client()
    client.force_login(annotator)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    port, websocket_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = production_env(
        tmp_path, LOG_LEVEL="WARNING", WEB_THREADS="2", DATABASE_POOL_SIZE="2", STATIC_ROOT=str(static_root)
    )
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    command += ["--websocket-port", str(websocket_port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        wait_until_serving(base, server, log)
        for candidate in candidates:
            url = f"{base}{reverse('labeling-vote', args=[candidate.uid])}"
            status, body = post(url, session=session, data=b"value=up")
            assert status == 200, body
            assert 'class="vote-up" title="Good (u)" aria-pressed="true"' in body
        # The task page's socket, opened from the page's origin on the websocket port.
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}", "Origin": base}
        with connect(f"ws://127.0.0.1:{websocket_port}/ws/jobs/{job.pk}/", additional_headers=headers) as socket:
            assert json.loads(socket.recv(timeout=10)) == {"type": "progress", "step": 2, "total": 8}
        # A failed log-in through a proxy on this machine (trusted by default) counts against the client's address.
        login = f"{base}{reverse('accounts-login')}"
        status, _ = post(
            login, session="", data=b"username=nobody&password=wrong", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert status == 200, log.read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert sorted(Vote.objects.filter(user=annotator).values_list("candidate_id", "value")) == [
        (candidate.pk, Vote.Value.UP) for candidate in candidates
    ]
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.9"]
    output = log.read_text()
    assert "production mode" in output and f"ws://127.0.0.1:{websocket_port}/ws/" in output
    # Request lines are at INFO (5xx at WARNING): with LOG_LEVEL=WARNING the answered votes leave none.
    assert "POST /candidates/" not in output


def test_a_thread_count_below_one_stops_start_up_with_the_variables_name(tmp_path):
    env = production_env(tmp_path, WEB_THREADS="0")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "WEB_THREADS must be at least 1" in result.stderr


def test_when_the_websocket_server_dies_serve_stops_http_too_and_exits_with_an_error(tmp_path):
    """So that its supervisor starts both again, rather than keep serving pages whose live updates cannot connect."""
    port, websocket_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "manage.py", "serve", "--port", str(port), "--websocket-port", str(websocket_port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=production_env(tmp_path), stdout=output, stderr=output)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server, log)
        listening = [
            child
            for child in psutil.Process(server.pid).children(recursive=True)
            if any(conn.laddr.port == websocket_port for conn in child.net_connections(kind="tcp"))
        ]
        assert len(listening) == 1, listening
        listening[0].kill()
        assert server.wait(timeout=60) == 1
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    output = log.read_text()
    assert "the websocket server exited with -9: stopping HTTP too" in output
    assert "Stopped: the websocket server exited with -9; HTTP was stopped with it." in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
