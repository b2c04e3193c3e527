import socket

from celery import shared_task
from celery.signals import worker_ready

from generation.services import image_job_run, stuck_jobs_fail, worker_heartbeat_record


@shared_task(bind=True, name="generation.tasks.heartbeat", ignore_result=True)
def heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())


@worker_ready.connect
def _heartbeat_on_start(sender=None, **kwargs) -> None:
    """Record a heartbeat as soon as a worker is up, not only at the first beat tick."""
    worker_heartbeat_record(hostname=getattr(sender, "hostname", None) or socket.gethostname())


# Image generation. Delivery is at-most-once in effect: the job row is claimed with a
# conditional UPDATE, so a redelivered message finds the job taken and does nothing.
@shared_task(bind=True, name="generation.tasks.generate_images", ignore_result=True)
def generate_images(self, job_id: int) -> None:
    image_job_run(job_id=job_id, worker=self.request.hostname or socket.gethostname())


@shared_task(name="generation.tasks.fail_stuck_jobs", ignore_result=True)
def fail_stuck_jobs() -> int:
    return stuck_jobs_fail()
