"""A small HTTP client for the fault tests: a logged-in annotator speaking to a server subprocess."""

import http.client
import json
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from tests.faults.conftest import ROOT


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    content_type: str
    location: str = ""


@dataclass
class Annotator:
    """Sends requests with a session cookie and the CSRF header, as the page's htmx would."""

    base_url: str
    session_key: str
    csrf_token: str = field(default_factory=lambda: secrets.token_hex(16))

    def request(self, method: str, path: str, data: dict | None = None, *, htmx: bool = False) -> Reply:
        address = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        headers = {
            "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_token}",
            "X-CSRFToken": self.csrf_token,
        }
        if htmx:
            headers["HX-Request"] = "true"
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Reply(
                response.status,
                response.read().decode(errors="replace"),
                response.getheader("Content-Type", ""),
                response.getheader("Location", ""),
            )
        finally:
            connection.close()

    def vote(self, candidate_uid: str, value: str) -> Reply:
        return self.request("POST", f"/candidates/{candidate_uid}/vote", {"value": value}, htmx=True)


def seed(function: str, env: dict[str, str]) -> dict:
    """Run ``tests.faults.scenario.<function>()`` in a manage.py shell against ``env``'s database."""
    code = f"from tests.faults.scenario import {function}; {function}()"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
