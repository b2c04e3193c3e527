"""Sending jobs to their worker queues: the web side of the job lifecycle, above the Celery tasks."""

import logging

from django.db import transaction

from generation.jobs import job_fail
from generation.models import GenerationJob
from generation.tasks import generate_images, generate_text

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "The job queue could not be reached, so no worker got this job. Retry in a moment."
CELERY_TASK_FOR_KIND = {GenerationJob.Kind.IMAGE: generate_images, GenerationJob.Kind.TEXT: generate_text}


def job_enqueue_on_commit(*, job: GenerationJob) -> None:
    """Send the job to its worker queue once the transaction commits.

    A broker that cannot be reached fails the job, so the page shows why and offers a retry,
    rather than the request failing and the job waiting forever for a message never sent.
    """
    celery_task = CELERY_TASK_FOR_KIND[job.kind]

    def send() -> None:
        try:
            celery_task.delay(job.pk)
        except Exception:  # kombu's OperationalError, or whatever the transport raises
            logger.warning("could not queue generation job %s", job.pk, exc_info=True)
            job_fail(job_id=job.pk, message=QUEUE_UNAVAILABLE)

    transaction.on_commit(send)


def pending_jobs_requeue() -> int:
    """Send every pending job to its queue again; for the embedded broker, which forgets them on restart."""
    pending = GenerationJob.objects.filter(status=GenerationJob.Status.PENDING).order_by("created_at")
    pending = list(pending.values_list("pk", "kind"))
    for job_id, kind in pending:
        CELERY_TASK_FOR_KIND[kind].delay(job_id)
    return len(pending)
