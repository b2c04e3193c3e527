"""Accounts fixtures: a real OpenID provider for the single sign-on tests, the npm package oidc-provider
(tests/oidc) run by node on a loopback port. Installed by .ci/run (``npm ci --prefix tests/oidc``); missing, it
skips here and fails in CI."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from accounts.sso import provider_configuration
from tests.conftest import free_port, missing

PROVIDER_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENT_ID = "corral-tests"
CLIENT_SECRET = "corral-tests-client-secret-of-some-length"
PROVIDER_NAME = "Example ID"


@pytest.fixture
def oidc_provider(asgi_server, settings):
    """The provider, with this client registered for the test server's callback; SSO switched on. Yields its
    issuer URL."""
    node = shutil.which("node")
    if node is None:
        missing("node (for the OpenID provider of the SSO tests)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        missing("the npm package oidc-provider (npm ci --prefix tests/oidc)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    callback = f"{asgi_server}/accounts/sso/callback/"
    process = subprocess.Popen(
        [node, "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, callback],
        cwd=PROVIDER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the OpenID provider did not start:\n{process.stdout.read()}")
        time.sleep(0.1)
    settings.OIDC_ISSUER_URL, settings.SSO_ENABLED, settings.OIDC_PROVIDER_NAME = issuer, True, PROVIDER_NAME
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    provider_configuration.cache_clear()
    yield issuer
    provider_configuration.cache_clear()
    process.terminate()
    process.wait(timeout=10)
