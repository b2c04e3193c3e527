"""The embedded mode's Celery worker and beat, running as threads of the web process.

With no REDIS_URL, Celery's broker is kombu's in-memory transport, which only
reaches consumers in the same process, so the worker and the beat scheduler
run beside the ASGI server (``manage.py serve``).
"""

import logging
import socket
import threading

from celery import Celery
from celery.beat import EmbeddedService
from celery.worker import WorkController

from corral.celery import app as celery_app
from generation.queueing import pending_jobs_requeue
from generation.tasks import heartbeat

logger = logging.getLogger(__name__)


def _gpu_worker_app() -> Celery:
    """A second app object for the image worker: a worker selects its queues on its app, so two workers
    sharing one app would both end up consuming the last one's queues. Both apps use the same broker."""
    app = Celery("corral-gpu")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks(force=True)
    return app


def start_embedded_worker() -> list[threading.Thread]:
    hostname = f"embedded@{socket.gethostname()}"
    # Image generation keeps one at a time (like a GPU worker); short tasks run beside it.
    workers = [
        WorkController(
            app=_gpu_worker_app(),
            hostname=f"gpu-{hostname}",
            pool_cls="solo",
            concurrency=1,
            queues=["gpu"],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        ),
        WorkController(
            app=celery_app,
            hostname=hostname,
            pool_cls="threads",
            concurrency=2,
            queues=["default", "exports"],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        ),
    ]
    threads = [threading.Thread(target=worker.start, name=worker.hostname, daemon=True) for worker in workers]
    # Without scheduler_cls, beat.Service would use a shelve file in the working directory, not the configured one.
    beat = EmbeddedService(celery_app, thread=True, scheduler_cls=celery_app.conf.beat_scheduler)
    for thread in threads:
        thread.start()
    beat.start()
    # `celery worker` records its first heartbeat on worker_ready, which embedded workers never send;
    # a heartbeat task through the broker proves the worker consumes without waiting for beat's first tick.
    heartbeat.delay()
    # The in-process broker starts empty: jobs queued before a restart would otherwise wait forever.
    requeued = pending_jobs_requeue()
    logger.info("embedded Celery workers and beat started; %d pending generation job(s) queued again", requeued)
    return threads
