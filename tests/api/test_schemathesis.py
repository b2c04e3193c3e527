"""Schemathesis against the live OpenAPI schema of a real server: no 5xx, and every answer as the schema says.

The ``st`` command runs in a subprocess against the ASGI server of ``asgi_server`` (tests/conftest.py), with a
read-and-write token of a manager of a project holding a task, votes, a pick, a review, a batch and an export run,
so generated requests reach real rows as well as refusals. Bounded: a few examples per operation.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import ApiToken
from exports.models import ExportRun
from labeling.models import Membership, Preference, PromptBatch, Review, Vote
from tests.api.conftest import token_for
from tests.factories import make_image_task, make_text_task, member
from tests.generation.conftest import purge_queues

ST = Path(sys.executable).with_name("st")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture
def populated_projects(project, text_project) -> tuple:
    """A manager of both projects, and the ids of a task, a batch and an export run to ask for."""
    manager = member(project, "schema-manager", role=Membership.Role.MANAGER)
    Membership.objects.create(user=manager, project=text_project, role=Membership.Role.MANAGER)
    task = make_image_task(project, "a heron", count=2)
    Vote.objects.create(user=manager, candidate=task.candidates.first(), value=Vote.Value.UP)
    Preference.objects.create(user=manager, task=task, choice=Preference.Choice.TIE)
    answer = make_text_task(text_project, "Capital of Peru?", ["Maybe Cusco."]).candidates.get()
    Review.objects.create(reviewer=manager, candidate=answer, decision="accept", original_text=answer.text)
    batch = PromptBatch.objects.create(project=project, name="birds.csv", prompt_count=0)
    run = ExportRun.objects.create(project=project)
    return manager, [task.pk, batch.pk, run.pk]


def config_file(folder: Path, ids: list[int]) -> Path:
    """Most generated paths name these projects and objects, so requests reach real rows as well as 404s."""
    config = folder / "schemathesis.toml"
    config.write_text(
        "[dictionaries.slugs]\n"
        'values = ["birds", "answers"]\n'
        "[dictionaries.ids]\n"
        f"values = {ids}\n"
        "[parameters]\n"
        '"path.slug" = { dictionary = "slugs", probability = 0.8 }\n'
        '"path.id" = { dictionary = "ids", probability = 0.8 }\n'
    )
    return config


def test_every_generated_request_gets_an_answer_the_schema_describes(
    asgi_server, populated_projects, settings, tmp_path
):
    settings.API_REQUESTS_PER_MINUTE = 1_000_000  # the rate limit is tested on its own
    manager, ids = populated_projects
    secret = token_for(manager, ApiToken.Scope.READ_WRITE)
    command = [
        str(ST),
        "--config-file",
        str(config_file(tmp_path, ids)),
        "run",
        f"{asgi_server}/api/v1/schema",
        "--header",
        f"Authorization: Bearer {secret}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        "12",
        "--seed",
        "1",
        "--generation-database",
        "none",
        "--no-shrink",
        "--no-color",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    finally:
        purge_queues()  # the exports and generations it queued have no worker here
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
