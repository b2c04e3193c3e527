import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corral.logs import JsonFormatter
from generation.tasks import heartbeat
from labeling.models import Project

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def json_log():
    """``json_log(name)`` → a function returning the JSON lines logger ``name`` wrote since the call."""
    attached = []

    def _attach(name: str):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter())
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]

    yield _attach
    for logger, handler in attached:
        logger.removeHandler(handler)


def test_each_request_writes_one_json_line_with_route_status_duration_and_pseudonymous_user(
    client, annotator, json_log
):
    lines = json_log("corral.request")
    client.force_login(annotator)
    response = client.get("/")
    assert response.status_code == 200
    [line] = lines()
    assert line["event"] == "request"
    assert (line["method"], line["path"], line["route"], line["status"]) == ("GET", "/", "labeling-dashboard", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user"] == str(annotator.public_id)
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert annotator.username not in json.dumps(line)


def test_a_request_id_from_the_proxy_is_logged_and_returned(client, db, json_log):
    lines = json_log("corral.request")
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.42"
    [line] = lines()
    assert (line["request_id"], line["route"], line["user"]) == ("lb-7f3a.42", "corral-healthz", None)


@pytest.mark.parametrize("sent", ["", "has spaces", "x" * 129, "line\nbreak"])
def test_an_unusable_request_id_is_replaced_by_a_fresh_one(client, db, json_log, sent):
    lines = json_log("corral.request")
    response = client.get("/accounts/login/", headers={"X-Request-ID": sent})
    request_id = response.headers["X-Request-ID"]
    assert request_id != sent and len(request_id) == 32
    assert [line["request_id"] for line in lines()] == [request_id]


def test_an_anonymous_visitor_sent_to_login_is_logged_without_a_user(client, db, json_log):
    lines = json_log("corral.request")
    response = client.get("/p/birds/")
    assert response.status_code == 302
    [line] = lines()
    assert (line["status"], line["route"], line["user"]) == (302, "labeling-project", None)


def test_a_task_run_writes_one_line_with_its_name_id_outcome_and_duration(db, json_log):
    lines = json_log("corral.task")
    result = heartbeat.apply()
    [line] = lines()
    assert line["event"] == "task"
    assert (line["task"], line["task_id"], line["outcome"]) == ("generation.tasks.heartbeat", result.id, "success")
    assert isinstance(line["duration_ms"], float)


def test_a_failed_task_logs_its_error_and_the_ids_it_was_given(db, json_log, settings, tmp_path):
    from exports.tasks import export_to_oxen

    project = Project.objects.create(slug="birds", name="Birds")
    # A file where the repository folder should be: the export cannot create its repository.
    settings.OXEN_REPO_PATH = tmp_path / "not-a-folder"
    settings.OXEN_REPO_PATH.write_text("")
    settings.OXEN_CONFIG_DIR = tmp_path / "oxen-config"
    lines = json_log("corral.task")
    export_to_oxen.apply(kwargs={"project_id": project.pk})
    [line] = lines()
    assert (line["task"], line["outcome"], line["kwargs"]) == (
        "exports.tasks.export_to_oxen",
        "failure",
        {"project_id": project.pk},
    )
    assert line["error"]
    assert line["level"] == "ERROR"


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "LOG_FORMAT"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_log_format_json_makes_every_line_of_a_process_json(tmp_path):
    script = (
        "from django.test import Client; from generation.tasks import heartbeat; "
        "Client(HTTP_HOST='localhost').get('/'); heartbeat.apply()"
    )
    # A fresh var dir without migrations: the heartbeat's table is missing, so its run fails and says so.
    result = _manage("shell", "-c", script, LOG_FORMAT="json", DEBUG="1", CORRAL_VAR_DIR=str(tmp_path))
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    requests = [line for line in lines if line.get("event") == "request"]
    tasks = [line for line in lines if line.get("event") == "task"]
    assert [(line["method"], line["path"], line["status"]) for line in requests] == [("GET", "/", 302)]
    assert [(line["task"], line["outcome"]) for line in tasks] == [("generation.tasks.heartbeat", "failure")]


def test_an_unknown_log_format_stops_start_up_naming_the_variable(tmp_path):
    result = _manage("check", LOG_FORMAT="xml", DEBUG="1", CORRAL_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of ['plain', 'json'], got 'xml'" in result.stderr
