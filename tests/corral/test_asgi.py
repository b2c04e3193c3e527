"""The server's application module: as a fresh server process loads it, and as it serves requests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.test import Client
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent.parent


def test_loading_the_application_freezes_what_it_loaded_out_of_the_collectors_full_passes(tmp_path):
    env = {**os.environ, "CORRAL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "corral.settings"}
    env.pop("DATABASE_URL", None)
    probe = "import gc; import corral.asgi; print(gc.get_freeze_count())"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    # Django, the apps and every view: far more than the interpreter's own start-up leaves.
    assert int(loaded.stdout.strip()) > 50_000


@pytest.mark.redis
def test_requests_on_the_server_reuse_their_threads_redis_connections(asgi_server, annotator, settings):
    """Each server thread keeps its cache connections from one request to the next, as under a threaded WSGI
    server: counting API requests in Redis (the rate limit) does not open a connection per request."""
    client = Client()
    client.force_login(annotator)
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    redis = Redis.from_url(settings.REDIS_URL)
    opened_before = redis.info("stats")["total_connections_received"]
    for _ in range(30):
        response = requests.get(f"{asgi_server}/api/v1/projects", cookies=cookies, allow_redirects=False, timeout=10)
        assert response.status_code == 200
    opened = redis.info("stats")["total_connections_received"] - opened_before
    assert opened <= settings.WEB_THREADS
