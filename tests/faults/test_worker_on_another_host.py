"""A generation worker on another host: its disk is not the web process's, and media go through a real
S3-compatible bucket (Moto's server). The images reach the page, a member's browser, and the Oxen export."""

import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from generation.models import GenerationJob
from labeling.models import Candidate
from tests.faults.conftest import ROOT, wait_until
from tests.faults.http import Annotator
from tests.faults.scenario import session_for

pytestmark = [pytest.mark.fault, pytest.mark.postgres]

CANDIDATES = 2


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_images_made_by_a_worker_without_the_web_disk_reach_the_page_and_the_export(
    project,
    annotator,
    demo_model_path,
    private_redis,
    processes,
    production_env,
    shared_database,
    tmp_path,
    s3_bucket,
):
    project.image_model = str(demo_model_path)
    project.image_width = project.image_height = 64
    project.image_steps = 2
    project.candidates_per_task = CANDIDATES
    project.votes_per_candidate = 1
    project.forbid_self_voting = False  # the annotator judges the images of the prompt they typed
    project.save()
    web_env = production_env(database_url=shared_database, redis_url=private_redis.url(), **s3_bucket.env())
    worker_media = tmp_path / "worker-host-media"
    processes.worker({**web_env, "MEDIA_ROOT": str(worker_media), "CORRAL_VAR_DIR": str(tmp_path / "worker-var")})
    server = processes.server(web_env)
    user = Annotator(server.base_url, session_for(annotator))

    assert user.request("POST", f"/p/{project.slug}/generate", {"prompt": "a heron in the fog"}).status == 302
    wait_until(
        lambda: GenerationJob.objects.filter(status__in=["succeeded", "failed"]).exists(),
        timeout=180,
        what="the worker on the other host to finish",
        interval=0.2,
    )
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    candidates = list(Candidate.objects.filter(task_id=job.task_id).order_by("index"))
    assert len(candidates) == CANDIDATES
    assert s3_bucket.keys() == sorted(f"media/{candidate.image.name}" for candidate in candidates)
    assert files_under(worker_media) == [] and files_under(Path(web_env["MEDIA_ROOT"])) == []

    page = user.request("GET", f"/tasks/{job.task_id}/")
    assert page.status == 200
    for candidate in candidates:
        assert f"/candidates/{candidate.uid}/image" in page.body
        shown = user.request("GET", f"/candidates/{candidate.uid}/image")
        assert shown.status == 302 and shown.location.startswith(s3_bucket.endpoint)
        with urllib.request.urlopen(shown.location, timeout=10) as image:
            assert image.read() == s3_bucket.read(f"media/{candidate.image.name}")
        assert user.vote(str(candidate.uid), "up").status == 200

    # The export runs on a third host: no disk in common with either, only the database and the bucket.
    repo = tmp_path / "dataset"
    export_env = {
        **web_env,
        "MEDIA_ROOT": str(tmp_path / "export-host-media"),
        "OXEN_REPO_PATH": str(repo),
        "OXEN_CONFIG_DIR": str(tmp_path / "oxen-config"),
        "OXEN_REMOTE": "",
    }
    exported = subprocess.run(
        [sys.executable, "manage.py", "export_oxen"],
        cwd=ROOT,
        env=export_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    votes = pd.concat([pd.read_parquet(part) for part in sorted((repo / "votes").glob("*.parquet"))])
    assert sorted(votes["rating"]) == ["good"] * CANDIDATES
    for path, candidate_uid in zip(votes["path"], votes["candidate_uid"], strict=True):
        candidate = next(c for c in candidates if str(c.uid) == candidate_uid)
        assert (repo / path).read_bytes() == s3_bucket.read(f"media/{candidate.image.name}")
