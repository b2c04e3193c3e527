"""The export is killed for real (SIGKILL at a named stage) in a subprocess, then run again.

The subprocesses need a database they can see: the PostgreSQL test database when DATABASE_URL is set
(hence transactional_db), otherwise a file-based SQLite database migrated once per module.
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

from exports.services import CRASH_STAGES
from tests.exports.conftest import read_table

pytestmark = pytest.mark.fault

ROOT = Path(settings.BASE_DIR)

SEED = """
import io
from django.core.files.base import ContentFile
from PIL import Image
from accounts.models import User
from labeling.models import Candidate, Preference, Project, Review, Task, Vote

def png(shade):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()

images = Project.objects.create(slug="birds", name="Birds")
texts = Project.objects.create(slug="answers", name="Answers", kind="text")
ann = User.objects.create_user("ann")
bob = User.objects.create_user("bob")
for t in range(3):
    task = Task.objects.create(project=images, prompt=f"bird {t}", source="typed", status="ready")
    for i in range(3):
        c = Candidate(task=task, index=i, model_name="tiny-sd", seed=i, params={"steps": 5, "guidance": 7.0})
        c.image.save(f"t{t}-{i}.png", ContentFile(png(t * 30 + i)), save=False)
        c.save()
        Vote.objects.create(user=ann, candidate=c, value=1 if i else -1)
        Vote.objects.create(user=bob, candidate=c, value=0 if i == 2 else 1)
    Preference.objects.create(user=ann, task=task, choice="best", chosen=task.candidates.get(index=1))
    Preference.objects.create(user=bob, task=task, choice="tie")
answer = Task.objects.create(project=texts, prompt="2+2?", source="typed", status="ready")
c = Candidate.objects.create(task=answer, index=0, text="5", confidence=0.3)
Review.objects.create(reviewer=ann, candidate=c, decision="correct", original_text="5", corrected_text="4")
Review.objects.create(reviewer=bob, candidate=c, decision="accept", original_text="5")
"""

INSPECT = """
import json
from exports.models import ExportRun
from exports.services import export_due_count
from labeling.models import Preference, Review, Vote
print(json.dumps({
    "votes": sorted(Vote.objects.exclude(value=0).values_list("pk", flat=True)),
    "preferences": sorted(Preference.objects.values_list("pk", flat=True)),
    "reviews": sorted(Review.objects.values_list("pk", flat=True)),
    "committed": sorted(ExportRun.objects.exclude(commit_id="").values_list("batch", flat=True)),
    "running": ExportRun.objects.filter(status="running").count(),
    "due": export_due_count(),
}))
"""


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory) -> Path | None:
    """A migrated SQLite database file, copied for each test (SQLite mode only)."""
    if settings.DATABASE_URL:
        return None
    var = tmp_path_factory.mktemp("template-var")
    env = {**os.environ, "DEBUG": "1", "CORRAL_VAR_DIR": str(var), "DATABASE_URL": "", "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    return var / "corral.sqlite3"


@pytest.fixture
def corral(request, sqlite_template, tmp_path):
    """``corral(*args, crash_at=...)`` runs manage.py against a database and dataset shared with the test."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "CORRAL_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "OXEN_REPO_PATH": str(tmp_path / "dataset"),
        "OXEN_CONFIG_DIR": str(tmp_path / "oxen-config"),
        "EXPORT_CHUNK_SIZE": "4",
        "OXEN_REMOTE": "",
        "OXEN_API_KEY": "",
    }
    if sqlite_template is None:
        request.getfixturevalue("transactional_db")
        db = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        (tmp_path / "var").mkdir()
        shutil.copy(sqlite_template, tmp_path / "var" / "corral.sqlite3")
        env["DATABASE_URL"] = ""

    def run(*args: str, crash_at: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**env, "CORRAL_EXPORT_CRASH_AT": crash_at},
            capture_output=True,
            text=True,
            timeout=300,
        )

    run.dataset = tmp_path / "dataset"
    return run


@pytest.mark.parametrize("stage", CRASH_STAGES)
def test_every_row_is_in_the_dataset_exactly_once_after_a_kill(corral, stage):
    assert corral("shell", "-c", SEED).returncode == 0

    killed = corral("export_oxen", crash_at=stage)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = corral("export_oxen")
    assert again.returncode == 0, again.stderr

    state = json.loads(corral("shell", "-c", INSPECT).stdout.splitlines()[-1])
    dataset = corral.dataset
    assert state["due"] == 0 and state["running"] == 0
    votes = read_table(dataset, "votes")
    assert sorted(votes.id) == state["votes"]
    pairs = read_table(dataset, "preferences")
    assert pairs.id.is_unique and sorted(set(pairs.preference_id)) == state["preferences"]
    assert len(pairs) == 3 * (2 + 3)
    assert sorted(read_table(dataset, "reviews").id) == state["reviews"]
    assert len(read_table(dataset, "text_dpo")) == 1

    # Exactly the committed batches are on disk, each image once, every referenced path present.
    assert sorted(p.name for p in (dataset / "images").iterdir()) == state["committed"]
    assert sorted(p.stem for p in (dataset / "votes").iterdir()) == state["committed"]
    images = [p.name for p in (dataset / "images").rglob("*.png")]
    assert len(images) == len(set(images)) == 9
    assert all((dataset / path).is_file() for path in [*votes.path, *pairs.jpg_0, *pairs.jpg_1])
    repo = oxen.Repo(str(dataset))
    assert repo.status().is_clean()
    assert sum(commit.message.startswith("Corral export") for commit in repo.log()) == len(state["committed"])
