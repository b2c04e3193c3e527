import socket

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from generation.image_jobs import image_job_run
from generation.jobs import stuck_jobs_fail
from generation.models import WorkerHeartbeat
from generation.text_jobs import text_job_run


@shared_task(bind=True, name="generation.tasks.heartbeat", ignore_result=True)
def heartbeat(self) -> None:
    WorkerHeartbeat.record(hostname=self.request.hostname or socket.gethostname())


@worker_ready.connect
def _heartbeat_on_start(sender=None, **kwargs) -> None:
    """Record a heartbeat as soon as a worker is up, not only at the first beat tick."""
    WorkerHeartbeat.record(hostname=getattr(sender, "hostname", None) or socket.gethostname())


# Image generation. Delivery is at-most-once in effect: the job row is claimed with a
# conditional UPDATE, so a redelivered message finds the job taken and does nothing.
@shared_task(bind=True, name="generation.tasks.generate_images", ignore_result=True)
def generate_images(self, job_id: int) -> None:
    image_job_run(job_id=job_id, worker=self.request.hostname or socket.gethostname())


@shared_task(name="generation.tasks.fail_stuck_jobs", ignore_result=True)
def fail_stuck_jobs() -> int:
    return stuck_jobs_fail()


@shared_task(bind=True, name="generation.tasks.generate_text", ignore_result=True, acks_late=True)
def generate_text(self, job_id: int) -> None:
    """Run one text GenerationJob; transient LLM errors come back here as Celery retries with backoff.

    ``acks_late`` is safe: claiming the job is idempotent, so a redelivery does nothing.
    """
    outcome = text_job_run(
        job_id=job_id,
        attempt=self.request.retries,
        max_retries=settings.LLM_MAX_RETRIES,
        worker=self.request.hostname or socket.gethostname(),
    )
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, max_retries=settings.LLM_MAX_RETRIES)
