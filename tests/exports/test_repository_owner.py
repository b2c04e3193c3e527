"""liboxen locks a repository for the life of the process that opened it: exports belong to one process."""

import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from exports.due import export_due_count
from exports.models import ExportRun
from tests.exports.conftest import read_table
from tests.exports.test_operations import one_vote  # noqa: F401 (fixture)
from tests.generation.conftest import celery_worker, purge_queues

HOLD_REPOSITORY = """
import os, sys
import oxen
os.environ["OXEN_CONFIG_DIR"] = sys.argv[2]
oxen.user.config_user("Holder", "holder@example.com", sys.argv[2] + "/user_config.toml")
repo = oxen.Repo(sys.argv[1]).init()
open(sys.argv[1] + "/README.md", "w").write("held")
repo.add(sys.argv[1] + "/README.md")
repo.commit("held by another process")
print("holding", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def repository_held_elsewhere(oxen_repo):
    oxen_repo.mkdir(parents=True)
    (oxen_repo.parent / "holder-config").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_REPOSITORY, str(oxen_repo), str(oxen_repo.parent / "holder-config")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    # liboxen prints its own progress lines before the holder says it holds the repository.
    assert "holding\n" in iter(holder.stdout.readline, "")
    yield holder
    holder.stdin.close()
    holder.wait(timeout=30)


def test_export_oxen_refuses_a_repository_another_process_holds_and_loses_nothing(
    repository_held_elsewhere,
    oxen_repo,
    one_vote,  # noqa: F811
):
    with pytest.raises(CommandError, match="held by another process") as refused:
        call_command("export_oxen")

    assert "--queue" in str(refused.value)
    assert not ExportRun.objects.exists()
    assert export_due_count() == 1

    repository_held_elsewhere.stdin.close()
    repository_held_elsewhere.wait(timeout=30)
    call_command("export_oxen")

    assert list(read_table(oxen_repo, "votes").id) == [one_vote.pk]


@pytest.mark.django_db(transaction=True)
def test_export_oxen_queue_hands_the_export_to_the_exports_queue(oxen_repo, one_vote):  # noqa: F811
    purge_queues()
    with celery_worker(queues=("exports",)):
        call_command("export_oxen", "--queue")
        deadline = time.monotonic() + 60
        while not ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED).exists():
            assert time.monotonic() < deadline, "the exports worker did not run the queued export"
            time.sleep(0.1)

    assert list(read_table(oxen_repo, "votes").id) == [one_vote.pk]


def test_export_oxen_refuses_dry_run_with_queue(db):
    with pytest.raises(CommandError, match="exclude each other"):
        call_command("export_oxen", "--dry-run", "--queue")
