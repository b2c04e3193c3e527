"""The GPU worker is SIGKILLed in the middle of a generation: the job ends failed, leaves nothing behind,
and a retry from the task page makes the images."""

import pytest

from generation.models import GenerationJob
from generation.tasks import fail_stuck_jobs
from labeling.models import Candidate, Task
from tests.faults.conftest import wait_until
from tests.faults.http import Annotator
from tests.faults.scenario import session_for

pytestmark = [pytest.mark.fault, pytest.mark.postgres]

SLOW_STEPS = 400  # long enough to be killed in the middle
CANDIDATES = 2


def media_files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_worker_killed_mid_generation_leaves_a_failed_job_without_images_and_a_retry_makes_them(
    project, annotator, demo_model_path, private_redis, processes, production_env, shared_database, tmp_path, settings
):
    project.image_model = str(demo_model_path)
    project.image_width = project.image_height = 64
    project.image_steps = SLOW_STEPS
    project.candidates_per_task = CANDIDATES
    project.save()
    env = production_env(database_url=shared_database, redis_url=private_redis.url())
    media = tmp_path / "media"
    worker = processes.worker(env)
    server = processes.server(env)
    user = Annotator(server.base_url, session_for(annotator))

    sent = user.request("POST", f"/p/{project.slug}/generate", {"prompt": "a heron in the fog"})
    assert sent.status == 302, sent.body
    job = GenerationJob.objects.get()
    wait_until(
        lambda: GenerationJob.objects.filter(pk=job.pk, status="running", progress_step__gte=1).exists(),
        timeout=120,
        what=f"the worker to start generating\n{worker.log()}",
        interval=0.2,
    )
    worker.kill()
    # Its replacement loads while the sweep runs; it finds nothing queued (the killed job's message was taken).
    processes.worker(env)

    job.refresh_from_db()
    assert job.status == GenerationJob.Status.RUNNING and job.progress_step < SLOW_STEPS, "killed mid-run"
    # The beat's sweep, with a limit the killed job has already passed.
    settings.GENERATION_JOB_TIME_LIMIT_SECONDS = 0
    assert fail_stuck_jobs.apply().get() == 1
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED and "worker was probably stopped" in job.error_message
    assert Task.objects.get().status == Task.Status.FAILED
    assert not Candidate.objects.exists()
    assert media_files(media) == []
    page = user.request("GET", f"/tasks/{job.task_id}/")
    assert page.status == 200 and "Generation failed" in page.body and "Retry" in page.body

    project.image_steps = 2
    project.save()
    retried = user.request("POST", f"/tasks/{job.task_id}/retry")
    assert retried.status == 302, retried.body
    wait_until(
        lambda: GenerationJob.objects.filter(status__in=["succeeded", "failed"]).exclude(pk=job.pk).exists(),
        timeout=120,
        what="the retried job to finish",
        interval=0.2,
    )
    retry = GenerationJob.objects.exclude(pk=job.pk).get()
    assert retry.status == GenerationJob.Status.SUCCEEDED, retry.error_message
    candidates = Candidate.objects.filter(task_id=job.task_id)
    assert candidates.count() == CANDIDATES
    assert media_files(media) == sorted(candidate.image.name for candidate in candidates)
    assert "Images generated" in user.request("GET", f"/tasks/{job.task_id}/").body
