"""The export is killed for real (SIGKILL at a named stage) in a subprocess, then run again.

The subprocesses need a database they can see: the PostgreSQL test database when DATABASE_URL is set
(hence transaction=True), otherwise a file-based SQLite database migrated once per module.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import oxen
import pytest
from django.conf import settings
from django.db import connection

from exports.crash import CRASH_STAGES
from tests.exports import crash_scenario
from tests.exports.conftest import read_table

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "CORRAL_VAR_DIR": str(root / "var"),
        "MEDIA_ROOT": str(root / "media"),
        "OXEN_REPO_PATH": str(root / "dataset"),
        "OXEN_CONFIG_DIR": str(root / "oxen-config"),
        "EXPORT_CHUNK_SIZE": "4",
        "OXEN_REMOTE": "",
        "OXEN_API_KEY": "",
    }


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path | None:
    """SQLite mode: a migrated and seeded database (and its media), copied for each test."""
    if settings.DATABASE_URL:
        return None
    root = tmp_path_factory.mktemp("template")
    env = {**_env(root), "DATABASE_URL": "", "REDIS_URL": ""}
    for args in (["migrate", "-v0"], ["shell", "-v0", "-c", "from tests.exports.crash_scenario import seed; seed()"]):
        done = _manage(*args, env=env)
        assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def corral(sqlite_template, tmp_path):
    """Seeded data; ``corral(*args, crash_at=...)`` runs manage.py on the same database and dataset;
    ``corral.inspect()`` reads the database's state back."""
    env = _env(tmp_path)
    if sqlite_template is None:
        db = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        crash_scenario.seed()
        inspect = crash_scenario.inspect
    else:
        env["DATABASE_URL"] = ""
        shutil.copytree(sqlite_template / "var", tmp_path / "var")
        shutil.copytree(sqlite_template / "media", tmp_path / "media")

        def inspect() -> dict:
            code = "from tests.exports.crash_scenario import print_inspect; print_inspect()"
            done = _manage("shell", "-v0", "-c", code, env=env)
            return json.loads(done.stdout)

    def run(*args: str, crash_at: str = "") -> subprocess.CompletedProcess:
        return _manage(*args, env={**env, "CORRAL_EXPORT_CRASH_AT": crash_at})

    run.dataset = tmp_path / "dataset"
    run.inspect = inspect
    return run


@pytest.mark.parametrize("stage", CRASH_STAGES)
def test_every_row_is_in_the_dataset_exactly_once_after_a_kill(corral, stage):
    killed = corral("export_oxen", crash_at=stage)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = corral("export_oxen")
    assert again.returncode == 0, again.stderr

    state = corral.inspect()
    dataset = corral.dataset
    assert state["due"] == 0 and state["running"] == 0
    votes = read_table(dataset, "votes")
    assert sorted(votes.id) == state["votes"]
    pairs = read_table(dataset, "preferences")
    assert pairs.id.is_unique and sorted(set(pairs.preference_id)) == state["preferences"]
    assert len(pairs) == 3 * (2 + 3)
    assert sorted(read_table(dataset, "reviews").id) == state["reviews"]
    assert len(read_table(dataset, "text_dpo")) == 1
    people = read_table(dataset, "annotators")
    assert people.id.is_unique and sorted(people.id) == state["annotators"]

    # Exactly the committed batches are on disk, each image once, every referenced path present.
    assert sorted(p.name for p in (dataset / "images").iterdir()) == state["committed"]
    assert sorted(p.stem for p in (dataset / "votes").iterdir()) == state["committed"]
    images = [p.name for p in (dataset / "images").rglob("*.png")]
    assert len(images) == len(set(images)) == 9
    assert all((dataset / path).is_file() for path in [*votes.path, *pairs.jpg_0, *pairs.jpg_1])
    repo = oxen.Repo(str(dataset))
    assert repo.status().is_clean()
    assert sum(commit.message.startswith("Corral export") for commit in repo.log()) == len(state["committed"])
