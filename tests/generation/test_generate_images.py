import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from generation import images
from generation.image_jobs import UNEXPECTED_FAILURE
from generation.jobs import job_files_folder
from generation.models import GenerationJob
from generation.services import generation_request, generation_requeue
from generation.tasks import fail_stuck_jobs, generate_images
from labeling.models import Candidate, Task
from tests.generation.conftest import TEST_STEPS


def request_images(user, project, prompt="a heron in the reeds") -> GenerationJob:
    return generation_request(user=user, project=project, prompt=prompt).job


def run(job: GenerationJob) -> GenerationJob:
    generate_images.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def stored_files() -> list[str]:
    """Names of the candidate images on disk, whichever job folder holds them."""
    folder = Path(settings.MEDIA_ROOT) / "candidates"
    return [path.name for path in folder.rglob("*") if path.is_file()]


def test_the_celery_task_stores_one_png_candidate_per_distinct_seed(image_project, annotator):
    job = run(request_images(annotator, image_project))

    assert job.status == GenerationJob.Status.SUCCEEDED and job.error_message == ""
    assert (job.progress_step, job.progress_total) == (TEST_STEPS, TEST_STEPS)
    assert job.worker and job.started_at <= job.finished_at
    candidates = list(Candidate.objects.filter(task=job.task).order_by("index"))
    assert [candidate.index for candidate in candidates] == [0, 1, 2, 3]
    assert len({candidate.seed for candidate in candidates}) == 4
    for candidate in candidates:
        assert candidate.image.name == f"candidates/{job.pk}/{candidate.uid}.png"
        with candidate.image.open("rb") as file:
            picture = Image.open(io.BytesIO(file.read()))
        assert picture.format == "PNG" and picture.size == (64, 64)
        assert candidate.model_name == str(image_project.image_model)
        assert candidate.params == {
            "steps": TEST_STEPS,
            "guidance": 7.5,
            "width": 64,
            "height": 64,
            "negative_prompt": "",
            "scheduler": "DDIMScheduler",
            "batch_seeds": [candidate.seed for candidate in candidates],
        }
    assert sorted(stored_files()) == sorted(f"{candidate.uid}.png" for candidate in candidates)
    job.task.refresh_from_db()
    assert job.task.status == Task.Status.READY


def test_a_candidate_regenerated_from_its_seed_and_params_has_identical_pixels(image_project, annotator):
    image_project.negative_prompt = "blurry"
    image_project.image_guidance = 5.0
    image_project.save()
    job = run(request_images(annotator, image_project))
    candidate = Candidate.objects.get(task=job.task, index=2)

    params = dict(candidate.params)
    batch_seeds = params.pop("batch_seeds")
    assert batch_seeds[candidate.index] == candidate.seed

    pictures, _ = images.render(
        model=candidate.model_name, prompt=candidate.task.prompt, seeds=batch_seeds, params=images.ImageParams(**params)
    )

    with candidate.image.open("rb") as file:
        stored = np.asarray(Image.open(io.BytesIO(file.read())).convert("RGB"))
    assert np.array_equal(stored, np.asarray(pictures[candidate.index].convert("RGB")))
    other = np.asarray(Image.open(Candidate.objects.get(task=job.task, index=1).image.open("rb")).convert("RGB"))
    assert not np.array_equal(stored, other)


def test_a_job_delivered_twice_makes_its_candidates_once(image_project, annotator):
    job = request_images(annotator, image_project)
    run(job)
    run(job)
    assert Candidate.objects.filter(task=job.task).count() == 4
    assert len(stored_files()) == 4


def test_a_job_already_running_elsewhere_is_left_alone(image_project, annotator):
    job = request_images(annotator, image_project)
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.RUNNING, worker="gpu-1@elsewhere")
    job = run(job)
    assert job.status == GenerationJob.Status.RUNNING and job.worker == "gpu-1@elsewhere"
    assert not Candidate.objects.exists()


def test_an_unloadable_model_fails_the_job_and_a_retry_succeeds_once_it_is_fixed(
    image_project, annotator, tmp_path, client, demo_model_path
):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    image_project.image_model = str(broken)
    image_project.save()

    job = run(request_images(annotator, image_project))

    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message.startswith(f"Could not load the image model '{broken}'")
    job.task.refresh_from_db()
    assert job.task.status == Task.Status.FAILED
    assert not Candidate.objects.exists() and stored_files() == []

    image_project.image_model = str(demo_model_path)
    image_project.save()
    client.force_login(annotator)
    response = client.post(f"/tasks/{job.task_id}/retry")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{job.task_id}/"
    retried = run(GenerationJob.objects.exclude(pk=job.pk).get(task=job.task))
    assert retried.status == GenerationJob.Status.SUCCEEDED
    assert Candidate.objects.filter(task=job.task).count() == 4


def test_a_missing_demo_model_fails_with_the_command_that_builds_it(project, annotator, settings, tmp_path):
    settings.SD_MODEL = ""
    settings.DEMO_MODEL_PATH = tmp_path / "not-built"
    job = run(request_images(annotator, project))
    assert job.status == GenerationJob.Status.FAILED
    assert "python manage.py build_demo_model" in job.error_message


def test_an_unknown_scheduler_fails_with_the_schedulers_that_fit(image_project, annotator):
    image_project.scheduler = "NoSuchScheduler"
    image_project.save()
    job = run(request_images(annotator, image_project))
    assert job.status == GenerationJob.Status.FAILED
    assert "Unknown scheduler 'NoSuchScheduler'" in job.error_message and "EulerDiscreteScheduler" in job.error_message


def test_the_projects_scheduler_is_used_and_recorded(image_project, annotator):
    image_project.scheduler = "EulerDiscreteScheduler"
    image_project.save()
    job = run(request_images(annotator, image_project))
    assert set(Candidate.objects.filter(task=job.task).values_list("params__scheduler", flat=True)) == {
        "EulerDiscreteScheduler"
    }


def test_a_failure_while_storing_candidates_leaves_no_candidates_and_no_files(image_project, annotator):
    job = request_images(annotator, image_project)
    # A candidate already holding index 0 makes the insert of the new ones fail after their files are written.
    Candidate.objects.create(task=job.task, index=0, text="in the way")

    job = run(job)

    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message == UNEXPECTED_FAILURE
    assert list(Candidate.objects.filter(task=job.task).values_list("text", flat=True)) == ["in the way"]
    assert stored_files() == []


def test_a_job_running_past_the_time_limit_is_failed_by_the_beat_and_can_be_requeued(
    image_project, annotator, settings
):
    settings.GENERATION_JOB_TIME_LIMIT_SECONDS = 600
    stuck = request_images(annotator, image_project)
    fresh = request_images(annotator, image_project, prompt="an owl")
    long_ago = timezone.now() - timezone.timedelta(seconds=601)
    GenerationJob.objects.filter(pk=stuck.pk).update(status=GenerationJob.Status.RUNNING, started_at=long_ago)
    GenerationJob.objects.filter(pk=fresh.pk).update(status=GenerationJob.Status.RUNNING, started_at=timezone.now())
    # What a worker killed while storing its images leaves behind, and what a live one is writing.
    default_storage.save(f"{job_files_folder(stuck.pk)}/left-behind.png", ContentFile(b"png"))
    default_storage.save(f"{job_files_folder(fresh.pk)}/being-written.png", ContentFile(b"png"))

    assert fail_stuck_jobs.apply().get() == 1
    assert stored_files() == ["being-written.png"]

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == GenerationJob.Status.FAILED and "did not finish within 10 minutes" in stuck.error_message
    assert fresh.status == GenerationJob.Status.RUNNING
    stuck.task.refresh_from_db()
    assert stuck.task.status == Task.Status.FAILED
    assert run(generation_requeue(task=stuck.task)).status == GenerationJob.Status.SUCCEEDED


def test_the_demo_model_is_used_when_no_model_is_configured_and_the_pages_say_it_draws_noise(
    project, annotator, settings, demo_model_path, client
):
    settings.SD_MODEL = ""
    settings.DEMO_MODEL_PATH = demo_model_path
    project.image_width = project.image_height = 64
    project.image_steps = 2
    project.save()
    client.force_login(annotator)
    page = client.get(f"/p/{project.slug}/").content.decode()
    assert "draws noise" in page and "SD_MODEL" in page

    job = run(request_images(annotator, project))

    assert set(Candidate.objects.filter(task=job.task).values_list("model_name", flat=True)) == {str(demo_model_path)}


def test_build_demo_model_writes_a_loadable_pipeline_and_keeps_an_existing_one(tmp_path, capsys):
    from django.core.management import call_command

    target = tmp_path / "demo"
    call_command("build_demo_model", str(target))
    index = json.loads((target / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline" and index["safety_checker"] == [None, None]
    call_command("build_demo_model", str(target), "--if-missing")
    assert "already at" in capsys.readouterr().out
    pictures, used = images.render(
        model=str(target), prompt="x", seeds=[1], params=images.ImageParams(steps=2, guidance=1.0, width=64, height=64)
    )
    assert pictures[0].size == (64, 64) and used.scheduler == "DDIMScheduler"


@pytest.mark.parametrize("name", ["", "NoSuchScheduler"])
def test_scheduler_names_are_checked_before_anything_runs(name, demo_model_path):
    params = images.ImageParams(steps=1, guidance=1.0, width=64, height=64, scheduler=name)
    if name:
        with pytest.raises(images.ImageModelError, match="Unknown scheduler"):
            images.render(model=str(demo_model_path), prompt="x", seeds=[1], params=params)
    else:
        assert len(images.render(model=str(demo_model_path), prompt="x", seeds=[1, 2], params=params)[0]) == 2
