"""`manage.py serve` on the embedded default runs the jobs left pending in the database in its own worker threads."""

import os
import sqlite3
import subprocess
import sys
import time

from tests.conftest import free_port
from tests.corral.test_embedded_mode import ROOT
from tests.generation.fake_openai import FakeOpenAI, confident, start

QUEUE_A_JOB = """
from accounts.models import User
from generation.services import generation_request
from generation.text_services import text_generation_request
from labeling.models import Membership, Project, Task
user = User.objects.create_user("ann", password="unused in this test")
project = Project.objects.create(slug="p", name="P", image_width=64, image_height=64, image_steps=2)
Membership.objects.create(user=user, project=project)
generation_request(user=user, project=project, prompt="a heron")
answers = Project.objects.create(slug="t", name="T", kind=Project.Kind.TEXT, candidates_per_task=1, audit_share=0)
Membership.objects.create(user=user, project=answers)
text_generation_request(user=user, task=Task.objects.create(project=answers, prompt="Capital of France?"))
"""


def job_states(database) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT j.status, (SELECT COUNT(*) FROM labeling_candidate c WHERE c.task_id = j.task_id)"
            " FROM generation_generationjob j ORDER BY j.kind"
        ).fetchall()


def test_image_and_text_jobs_queued_before_the_server_started_are_run_by_its_embedded_workers(tmp_path):
    fake = FakeOpenAI()
    fake.answer(confident("Paris."))
    llm_server = start(fake)
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "SD_MODEL"}}
    env.update(CORRAL_VAR_DIR=str(tmp_path / "var"), DEBUG="1", PYTHONUNBUFFERED="1", OPENAI_BASE_URL=fake.base_url)
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["build_demo_model", "--if-missing"], ["shell", "-c", QUEUE_A_JOB]):
        subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    database = tmp_path / "var" / "corral.sqlite3"
    # The shell's in-process broker vanished with it: the job waits in the database only.
    assert job_states(database) == [("pending", 0), ("pending", 0)]

    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*manage, "serve", "--port", str(free_port())], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and {"pending", "running"} & {state for state, _ in job_states(database)}:
                time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=20)
            llm_server.shutdown()
    assert job_states(database) == [("succeeded", 4), ("succeeded", 1)], log_path.read_text()[-3000:]
