"""One lifecycle for every generation job, image or text: claim, progress, success, failure, a later retry, and
the sweep of stuck jobs, each written once and taking the job's kind.

What a kind does while its job runs (the diffusers pipeline, the LLM and its scoring) lives in image_jobs and
text_jobs; queueing a job lives in queueing, above the Celery tasks. The kinds differ only in whom they tell:
an image job's page watches the job, a text task's page watches the task, whose stream outlives a retry (a
retry is a new job).
"""

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from generation.models import GenerationJob
from generation.realtime import group_name, group_send
from labeling.models import Task

logger = logging.getLogger(__name__)

# Live progress is a convenience: four events a second reach the page, the database row one a second.
PROGRESS_EVENT_INTERVAL_SECONDS = 0.25
PROGRESS_SAVE_INTERVAL_SECONDS = 1.0


def _start_progress_sender() -> None:
    """One thread sends a process's progress events, in the order they were reported, so the pipeline never
    waits on the channel layer between its steps. A forked child (a prefork worker) starts its own."""
    global _progress_events
    _progress_events = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generation-progress")


_progress_events: ThreadPoolExecutor
_start_progress_sender()
os.register_at_fork(after_in_child=_start_progress_sender)


class JobNoLongerRunning(Exception):
    """The job stopped being ours while it ran (the stuck-job sweep failed it)."""


def job_group(job_id: int) -> str:
    """The channel-layer group that hears an image job's progress and end."""
    return group_name("generation", "job", job_id)


def llm_stream_group(task_id: int) -> str:
    """The channel-layer group that hears a text task's streamed answers and where its job stands."""
    return group_name("task", task_id, "llm")


def job_updates_group(*, kind: str, job_id: int, task_id: int) -> str:
    """The group the page of a job of ``kind`` listens on."""
    return llm_stream_group(task_id) if kind == GenerationJob.Kind.TEXT else job_group(job_id)


def job_status_event(*, kind: str, job_id: int, status: str, message: str) -> dict:
    """The event that tells a job's page where the job stands, in the form its kind's page reads."""
    if kind == GenerationJob.Kind.TEXT:
        return {"type": "llm.status", "status": status, "message": message}
    return {"type": "generation.finished", "job": job_id, "status": status, "message": message}


def job_announce(*, job: GenerationJob, status: str, message: str = "") -> bool:
    """Tell the job's page its new status; False when the channel layer could not be reached."""
    group = job_updates_group(kind=job.kind, job_id=job.pk, task_id=job.task_id)
    return group_send(group, job_status_event(kind=job.kind, job_id=job.pk, status=status, message=message))


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


def job_progress_record(*, job_id: int, step: int, total: int | None = None) -> None:
    """Store a running job's progress on its row."""
    fields = {"progress_step": step, "updated_at": timezone.now()}
    if total is not None:
        fields["progress_total"] = total
    GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.RUNNING).update(**fields)


class JobProgress:
    """Turns a runner's per-step callback into throttled ``generation.progress`` events and row updates; always
    reports the last step.

    The row is updated at most once a second while the job runs (the claim wrote step 0); the last step
    reaches it with the job's final status.
    """

    def __init__(self, job: GenerationJob, *, total: int):
        self.job_id = job.pk
        self.group = job_updates_group(kind=job.kind, job_id=job.pk, task_id=job.task_id)
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
                self.group,
                {"type": "generation.progress", "job": self.job_id, "step": step, "total": total},
            )
        if now - self.last_save >= PROGRESS_SAVE_INTERVAL_SECONDS:
            self.last_save = now
            job_progress_record(job_id=self.job_id, step=step, total=total)

    def flush(self) -> None:
        """Wait until the reported events are sent: they must reach the page before the job's end does."""
        if self.last_sent is not None:
            self.last_sent.result()


def job_succeed(*, job: GenerationJob, **fields) -> bool:
    """Mark a running job succeeded (with ``fields``, e.g. its last progress) and its task ready; False when
    the job stopped being ours. Called inside the transaction that stores the job's candidates."""
    now = timezone.now()
    finished = GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).update(
        status=GenerationJob.Status.SUCCEEDED, error_message="", finished_at=now, updated_at=now, **fields
    )
    if finished:
        # Into the queue now (queued_at), after every annotator's QueueMarker, however old the task is.
        Task.objects.filter(pk=job.task_id).update(status=Task.Status.READY, updated_at=now, queued_at=now)
    return bool(finished)


def job_fail(*, job_id: int, message: str) -> bool:
    """Fail a pending or running job and its task, and tell its page; False when the job had already ended."""
    now = timezone.now()
    with transaction.atomic():
        failed = GenerationJob.objects.filter(pk=job_id, status__in=GenerationJob.ACTIVE_STATUSES).update(
            status=GenerationJob.Status.FAILED, error_message=message, finished_at=now, updated_at=now
        )
        if failed:
            Task.objects.filter(generation_jobs=job_id).update(status=Task.Status.FAILED, updated_at=now)
    if failed:
        job = GenerationJob.objects.only("kind", "task_id").get(pk=job_id)
        job_announce(job=job, status=GenerationJob.Status.FAILED, message=message)
    return bool(failed)


def job_retry_later(*, job: GenerationJob, message: str) -> None:
    """Put a running job back to pending with the reason, for a later delivery of its task; tell its page."""
    GenerationJob.objects.filter(pk=job.pk).update(
        status=GenerationJob.Status.PENDING, error_message=message, updated_at=timezone.now()
    )
    job_announce(job=job, status="retrying", message=message)


def job_files_folder(job_id: int) -> str:
    """Where a job writes its files: one folder per job, so the files of a job whose worker died can be found."""
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


def stuck_jobs_fail() -> int:
    """Fail jobs that have been running longer than GENERATION_JOB_TIME_LIMIT_SECONDS; returns how many."""
    limit = settings.GENERATION_JOB_TIME_LIMIT_SECONDS
    cutoff = timezone.now() - timedelta(seconds=limit)
    stuck = GenerationJob.objects.filter(status=GenerationJob.Status.RUNNING, started_at__lt=cutoff)
    message = (
        f"Generation did not finish within {limit // 60} minutes; its worker was probably stopped. "
        "Retry to generate again."
    )
    failed = 0
    for job_id in stuck.values_list("pk", flat=True):
        if job_fail(job_id=job_id, message=message):
            failed += 1
            # A worker killed while storing its files leaves them behind; nothing refers to them.
            if removed := _job_files_delete(job_id):
                logger.warning("removed %d file(s) left by stuck generation job %s", removed, job_id)
    return failed
