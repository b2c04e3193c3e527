"""Running an image job: the diffusers pipeline makes the task's candidates, stored all or nothing."""

import io
import logging
import random
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from generation import arena, images
from generation.jobs import (
    JobNoLongerRunning,
    JobProgress,
    job_announce,
    job_claim,
    job_fail,
    job_files_folder,
    job_succeed,
)
from generation.models import GenerationJob
from labeling.models import Candidate, Project

logger = logging.getLogger(__name__)

# What a person reads when generation fails in a way nobody foresaw; the details (the exception) go to the log.
UNEXPECTED_FAILURE = (
    "The images could not be made because of an unexpected problem on the server. Retry; if it fails again, "
    "an admin will find the details in the worker log."
)

SEED_RANGE = 2**32
# zlib's fastest level: about a third less encoding time than the default for a few percent more bytes.
PNG_COMPRESS_LEVEL = 1


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _failure_message(exc: Exception, *, project: Project) -> str:
    if isinstance(exc, images.ImageModelError):
        return str(exc)
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return (
            f"Out of memory while making {project.candidates_per_task} images of "
            f"{project.image_width}×{project.image_height}; lower the image size or the candidates per task, "
            "or retry when the GPU is less busy."
        )
    return UNEXPECTED_FAILURE


def _image_params(project: Project) -> images.ImageParams:
    return images.ImageParams(
        steps=project.image_steps,
        guidance=project.image_guidance,
        width=project.image_width,
        height=project.image_height,
        negative_prompt=project.negative_prompt,
        scheduler=project.scheduler,
    )


def _model_plan(project: Project) -> list[str]:
    """The model of each on-screen position: an arena's shuffled split, else the project's one model."""
    if project.is_arena:
        return arena.arena_plan(models=project.arena_model_list, candidates=project.candidates_per_task)
    return [images.configured_model(project.image_model)] * project.candidates_per_task


def _render_by_model(*, task, plan: list[str], seeds: list[int], progress: JobProgress):
    """Per model of the plan (each loaded once per worker): its positions, their images and the parameters used.

    Progress counts every model's steps, one model after the other.
    """
    project = task.project
    models = list(dict.fromkeys(plan))
    for number, model in enumerate(models):
        positions = [position for position, planned in enumerate(plan) if planned == model]

        def on_progress(step: int, total: int, done: int = number) -> None:
            progress(done * total + step, total * len(models))

        pictures, used = images.render(
            model=model,
            prompt=task.prompt,
            seeds=[seeds[position] for position in positions],
            params=_image_params(project),
            on_progress=on_progress,
        )
        yield model, positions, pictures, used


def image_job_run(*, job_id: int, worker: str) -> GenerationJob | None:
    """Make a job's images and store them as candidates, all or nothing.

    Returns None when the job is not pending (already taken by another delivery, or finished).
    """
    job = job_claim(job_id=job_id, kind=GenerationJob.Kind.IMAGE, worker=worker)
    if job is None:
        logger.info("generation job %s is not pending; nothing to do", job_id)
        return None
    task = job.task
    project = task.project
    plan = _model_plan(project)
    seeds = random.SystemRandom().sample(range(SEED_RANGE), project.candidates_per_task)
    stored: list[str] = []
    progress = JobProgress(job, total=job.progress_total)
    try:
        candidates = []
        for model, positions, pictures, used in _render_by_model(task=task, plan=plan, seeds=seeds, progress=progress):
            batch_seeds = [seeds[position] for position in positions]
            for position, picture in zip(positions, pictures, strict=True):
                uid = uuid.uuid4()
                name = f"{job_files_folder(job.pk)}/{uid}.png"
                stored.append(default_storage.save(name, ContentFile(_png(picture))))
                candidates.append(
                    Candidate(
                        task=task,
                        uid=uid,
                        index=position,
                        image=stored[-1],
                        model_name=model,
                        seed=seeds[position],
                        params={**used.as_dict(), "batch_seeds": batch_seeds},
                    )
                )
        with transaction.atomic():
            if not job_succeed(job=job, progress_step=progress.step, progress_total=progress.total):
                raise JobNoLongerRunning(f"job {job.pk} was failed while it ran")
            Candidate.objects.bulk_create(candidates)
    except Exception as exc:
        for name in stored:
            default_storage.delete(name)
        progress.flush()
        if isinstance(exc, JobNoLongerRunning):
            logger.warning("%s; its images were discarded", exc)
        else:
            logger.exception("generation job %s failed", job.pk)
            job_fail(job_id=job.pk, message=_failure_message(exc, project=project))
        job.refresh_from_db()
        return job
    progress.flush()
    job_announce(job=job, status=GenerationJob.Status.SUCCEEDED)
    job.refresh_from_db()
    return job
