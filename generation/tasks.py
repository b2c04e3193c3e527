import socket

from celery import shared_task
from celery.signals import worker_ready

from generation.services import worker_heartbeat_record


@shared_task(bind=True, name="generation.tasks.heartbeat", ignore_result=True)
def heartbeat(self) -> None:
    worker_heartbeat_record(hostname=self.request.hostname or socket.gethostname())


@worker_ready.connect
def _heartbeat_on_start(sender=None, **kwargs) -> None:
    """Record a heartbeat as soon as a worker is up, not only at the first beat tick."""
    worker_heartbeat_record(hostname=getattr(sender, "hostname", None) or socket.gethostname())
