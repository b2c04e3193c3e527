import io
import logging
import math
import os
import random
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from corral.realtime import group_name, group_send
from generation import images
from generation.models import GenerationJob, WorkerHeartbeat
from generation.selectors import job_request_times_since, jobs_active_for_user, retry_allowed
from labeling.models import Candidate, Project, Task

logger = logging.getLogger(__name__)

# Live progress is a convenience: four events a second reach the page, the database row one a second.
PROGRESS_EVENT_INTERVAL_SECONDS = 0.25
PROGRESS_SAVE_INTERVAL_SECONDS = 1.0
SEED_RANGE = 2**32
# zlib's fastest level: about a third less encoding time than the default for a few percent more bytes.
PNG_COMPRESS_LEVEL = 1


def _start_progress_sender() -> None:
    """One thread sends a process's progress events, in the order they were reported, so the pipeline never
    waits on the channel layer between its steps. A forked child (a prefork worker) starts its own."""
    global _progress_events
    _progress_events = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation-progress")


_progress_events: ThreadPoolExecutor
_start_progress_sender()
os.register_at_fork(after_in_child=_start_progress_sender)


class GenerationRefused(Exception):
    """A generation cannot be started; the message tells the user why and what to do."""


class GenerationLimited(GenerationRefused):
    """The user reached a generation limit; ``retry_at`` says when they may try again, if known."""

    def __init__(self, message: str, retry_at=None):
        super().__init__(message)
        self.retry_at = retry_at


class JobNoLongerRunning(Exception):
    """The job stopped being ours while it ran (the stuck-job sweep failed it)."""


@dataclass
class GenerationRequest:
    task: Task
    job: GenerationJob
    warnings: list[str] = field(default_factory=list)


def worker_heartbeat_record(*, hostname: str) -> None:
    WorkerHeartbeat.objects.update_or_create(hostname=hostname[:200], defaults={"seen_at": timezone.now()})


def job_group(job_id: int) -> str:
    """The channel-layer group that hears a job's progress."""
    return group_name("generation", "job", job_id)


def _clean_prompt(prompt: str) -> str:
    prompt = (prompt or "").strip()
    if not prompt:
        raise GenerationRefused("Type a prompt first: it is empty.")
    if "\x00" in prompt:
        raise GenerationRefused("The prompt contains a NUL character; remove it and try again.")
    if "\ufffd" in prompt:
        # What a browser's form decoding leaves of bytes that were not UTF-8: the prompt would be stored garbled.
        raise GenerationRefused("The prompt contains characters that were not valid UTF-8 (shown as �); retype them.")
    if len(prompt) > settings.PROMPT_MAX_CHARS:
        raise GenerationRefused(
            f"The prompt is {len(prompt):,} characters; the limit is {settings.PROMPT_MAX_CHARS:,}."
        )
    return prompt


def retry_time_text(*, retry_at, now) -> str:
    """When a refused user may try again, as "in 12 minutes, at 14:05"."""
    minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}, at {timezone.localtime(retry_at):%H:%M}"


def _check_limits(*, user) -> None:
    queued_limit = settings.GENERATION_MAX_QUEUED_PER_USER
    active = jobs_active_for_user(user=user, kind=GenerationJob.Kind.IMAGE)
    queued = active.count()
    if queued >= queued_limit:
        oldest = active.order_by("created_at").values_list("created_at", flat=True).first()
        raise GenerationLimited(
            f"You already have {queued} generation{'s' if queued != 1 else ''} queued or running "
            f"(the limit is {queued_limit}); try again as soon as one of them has finished "
            f"(the oldest was queued at {timezone.localtime(oldest):%H:%M})."
        )
    hourly_limit = settings.GENERATION_MAX_PER_HOUR_PER_USER
    now = timezone.now()
    recent = job_request_times_since(user=user, kind=GenerationJob.Kind.IMAGE, since=now - timedelta(hours=1))
    if len(recent) >= hourly_limit:
        # Enough of the oldest requests must leave the one-hour window to get back under the limit.
        retry_at = recent[len(recent) - hourly_limit] + timedelta(hours=1)
        raise GenerationLimited(
            f"You have started {len(recent)} generations in the last hour (the limit is {hourly_limit}); "
            f"try again {retry_time_text(retry_at=retry_at, now=now)}.",
            retry_at=retry_at,
        )


def _prompt_warnings(*, project: Project, prompt: str) -> list[str]:
    count, readable = images.prompt_token_count(model=images.configured_model(project.image_model), prompt=prompt)
    if count <= readable:
        return []
    return [
        f"The model reads only the first {readable} tokens of a prompt and yours has {count}, "
        "so the end of it is ignored. Shorten the prompt to keep every word."
    ]


QUEUE_UNAVAILABLE = "The job queue could not be reached, so no worker got this job. Retry in a moment."


def job_enqueue_on_commit(*, job: GenerationJob) -> None:
    """Send the job to its worker queue once the transaction commits.

    A broker that cannot be reached fails the job, so the page shows why and offers a retry,
    rather than the request failing and the job waiting forever for a message never sent.
    """
    from generation.tasks import generate_images, generate_text
    from generation.text_services import text_job_fail

    image = job.kind == GenerationJob.Kind.IMAGE
    celery_task, fail = (generate_images, _job_fail) if image else (generate_text, text_job_fail)

    def send() -> None:
        try:
            celery_task.delay(job.pk)
        except Exception:  # kombu's OperationalError, or whatever the transport raises
            logger.warning("could not queue generation job %s", job.pk, exc_info=True)
            fail(job_id=job.pk, message=QUEUE_UNAVAILABLE)

    transaction.on_commit(send)


def image_generation_start(*, task: Task, requested_by=None) -> GenerationJob:
    """Queue a job that makes the task's candidate images; the worker gets it once the transaction commits."""
    if task.project.kind != Project.Kind.IMAGE:
        raise GenerationRefused(f"{task.project.name} is not an image project.")
    try:
        with transaction.atomic():
            job = GenerationJob.objects.create(
                task=task,
                kind=GenerationJob.Kind.IMAGE,
                requested_by=requested_by,
                progress_total=task.project.image_steps,
            )
    except IntegrityError:
        raise GenerationRefused("This task is already queued for generation.") from None
    Task.objects.filter(pk=task.pk).update(status=Task.Status.GENERATING, updated_at=timezone.now())
    task.status = Task.Status.GENERATING
    job_enqueue_on_commit(job=job)
    return job


def generation_request(*, user, project: Project, prompt: str) -> GenerationRequest:
    """A task for a prompt the user typed, with its image generation queued.

    Raises GenerationRefused (bad prompt, project without free prompts) or
    GenerationLimited (too many generations queued or this hour).
    """
    prompt = _clean_prompt(prompt)
    if project.kind != Project.Kind.IMAGE:
        raise GenerationRefused(f"{project.name} collects feedback on text answers, not images.")
    if not project.allow_free_prompts:
        raise GenerationRefused(f"{project.name} takes prompts from its queue only; typed prompts are off.")
    warnings = _prompt_warnings(project=project, prompt=prompt)
    with transaction.atomic():
        # Holding the user's row makes concurrent requests of one user count each other.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        _check_limits(user=user)
        task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, created_by=user)
        job = image_generation_start(task=task, requested_by=user)
    return GenerationRequest(task=task, job=job, warnings=warnings)


def generation_requeue(*, task: Task, requested_by=None) -> GenerationJob:
    """A new job for a task whose generation failed."""
    if task.status != Task.Status.FAILED:
        raise GenerationRefused(f"Only failed generations can be retried; this task is {task.get_status_display()}.")
    if task.candidates.exists():
        raise GenerationRefused("This task already has candidates.")
    return image_generation_start(task=task, requested_by=requested_by)


def generation_retry(*, user, task: Task) -> GenerationJob:
    """Retry on behalf of the task's creator or a project manager."""
    if not retry_allowed(user=user, task=task):
        raise PermissionDenied("Only the person who typed this prompt or a project manager can retry it.")
    return generation_requeue(task=task, requested_by=user)


def job_claim(*, job_id: int, kind: str, worker: str) -> GenerationJob | None:
    """Take a pending job of ``kind`` for this worker, or None: one conditional UPDATE, so a second
    delivery of the same job finds it taken and does nothing."""
    now = timezone.now()
    claimed = GenerationJob.objects.filter(pk=job_id, kind=kind, status=GenerationJob.Status.PENDING).update(
        status=GenerationJob.Status.RUNNING, worker=worker[:200], started_at=now, progress_step=0, updated_at=now
    )
    if not claimed:
        return None
    return GenerationJob.objects.select_related("task__project").get(pk=job_id)


def job_mark_failed(*, job_id: int, message: str) -> bool:
    """Fail a pending or running job (image or text) and its task; False when the job had already ended."""
    now = timezone.now()
    with transaction.atomic():
        failed = GenerationJob.objects.filter(pk=job_id, status__in=GenerationJob.ACTIVE_STATUSES).update(
            status=GenerationJob.Status.FAILED, error_message=message, finished_at=now, updated_at=now
        )
        if failed:
            Task.objects.filter(generation_jobs=job_id).update(status=Task.Status.FAILED, updated_at=now)
    return bool(failed)


def _job_fail(*, job_id: int, message: str) -> bool:
    failed = job_mark_failed(job_id=job_id, message=message)
    if failed:
        group_send(
            job_group(job_id),
            {"type": "generation.finished", "job": job_id, "status": GenerationJob.Status.FAILED, "message": message},
        )
    return failed


class _ProgressReporter:
    """Turns the pipeline's per-step callback into throttled events and row updates; always reports the end.

    The row is updated at most once a second while the job runs (the claim wrote step 0); the last step
    reaches it with the job's final status.
    """

    def __init__(self, job_id: int, *, total: int):
        self.job_id = job_id
        self.step, self.total = 0, total
        self.last_event, self.last_save = 0.0, time.monotonic()
        self.last_sent: Future | None = None

    def __call__(self, step: int, total: int) -> None:
        now = time.monotonic()
        self.step, self.total = step, total
        if step >= total or now - self.last_event >= PROGRESS_EVENT_INTERVAL_SECONDS:
            self.last_event = now
            self.last_sent = _progress_events.submit(
                group_send,
                job_group(self.job_id),
                {"type": "generation.progress", "job": self.job_id, "step": step, "total": total},
            )
        if now - self.last_save >= PROGRESS_SAVE_INTERVAL_SECONDS:
            self.last_save = now
            GenerationJob.objects.filter(pk=self.job_id, status=GenerationJob.Status.RUNNING).update(
                progress_step=step, progress_total=total, updated_at=timezone.now()
            )

    def flush(self) -> None:
        """Wait until the reported events are sent: they must reach the page before the job's end does."""
        if self.last_sent is not None:
            self.last_sent.result()


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
    return f"Generation failed ({type(exc).__name__}: {exc}). Retry, or ask an admin to check the worker log."


def job_files_folder(job_id: int) -> str:
    """Where a job writes its images: one folder per job, so the files of a job whose worker died can be found."""
    return f"candidates/{job_id}"


def _job_files_delete(job_id: int) -> int:
    folder = job_files_folder(job_id)
    try:
        _, names = default_storage.listdir(folder)
    except FileNotFoundError:
        return 0
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    return len(names)


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
    model = images.configured_model(project.image_model)
    params = images.ImageParams(
        steps=project.image_steps,
        guidance=project.image_guidance,
        width=project.image_width,
        height=project.image_height,
        negative_prompt=project.negative_prompt,
        scheduler=project.scheduler,
    )
    seeds = random.SystemRandom().sample(range(SEED_RANGE), project.candidates_per_task)
    stored: list[str] = []
    progress = _ProgressReporter(job.pk, total=job.progress_total)
    try:
        pictures, used = images.render(
            model=model, prompt=task.prompt, seeds=seeds, params=params, on_progress=progress
        )
        candidates = []
        for index, (seed, picture) in enumerate(zip(seeds, pictures, strict=True)):
            uid = uuid.uuid4()
            stored.append(default_storage.save(f"{job_files_folder(job.pk)}/{uid}.png", ContentFile(_png(picture))))
            candidates.append(
                Candidate(
                    task=task,
                    uid=uid,
                    index=index,
                    image=stored[-1],
                    model_name=model,
                    seed=seed,
                    params={**used.as_dict(), "batch_seeds": seeds},
                )
            )
        now = timezone.now()
        with transaction.atomic():
            finished = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).update(
                status=GenerationJob.Status.SUCCEEDED,
                progress_step=progress.step,
                progress_total=progress.total,
                finished_at=now,
                updated_at=now,
            )
            if not finished:
                raise JobNoLongerRunning(f"job {job.pk} was failed while it ran")
            Candidate.objects.bulk_create(candidates)
            Task.objects.filter(pk=task.pk).update(status=Task.Status.READY, updated_at=now)
    except Exception as exc:
        for name in stored:
            default_storage.delete(name)
        progress.flush()
        if isinstance(exc, JobNoLongerRunning):
            logger.warning("%s; its images were discarded", exc)
        else:
            logger.exception("generation job %s failed", job.pk)
            _job_fail(job_id=job.pk, message=_failure_message(exc, project=project))
        job.refresh_from_db()
        return job
    progress.flush()
    group_send(
        job_group(job.pk),
        {"type": "generation.finished", "job": job.pk, "status": GenerationJob.Status.SUCCEEDED, "message": ""},
    )
    job.refresh_from_db()
    return job


def stuck_jobs_fail() -> int:
    """Fail jobs that have been running longer than GENERATION_JOB_TIME_LIMIT_SECONDS; returns how many.

    Each failure is announced on the group its kind's page listens on.
    """
    from generation.text_services import text_job_fail

    limit = settings.GENERATION_JOB_TIME_LIMIT_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit)
    stuck = GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING, started_at__lt=cutoff)
    message = (
        f"Generation did not finish within {limit // 60} minutes; its worker was probably stopped. "
        "Retry to generate again."
    )
    failed = 0
    for job_id, kind in stuck.values_list("pk", "kind"):
        if kind == GenerationJob.Kind.TEXT:
            failed += text_job_fail(job_id=job_id, message=message)
        elif _job_fail(job_id=job_id, message=message):
            failed += 1
            # A worker killed while storing the images leaves them behind; nothing refers to them.
            if removed := _job_files_delete(job_id):
                logger.warning("removed %d image(s) left by stuck generation job %s", removed, job_id)
    return failed


def pending_jobs_requeue() -> int:
    """Send every pending job to its queue again; for the embedded broker, which forgets them on restart."""
    from generation.tasks import generate_images, generate_text

    task_for_kind = {GenerationJob.Kind.IMAGE: generate_images, GenerationJob.Kind.TEXT: generate_text}
    pending = GenerationJob.objects.filter(status=GenerationJob.Status.PENDING).order_by("created_at")
    pending = list(pending.values_list("pk", "kind"))
    for job_id, kind in pending:
        task_for_kind[kind].delay(job_id)
    return len(pending)
