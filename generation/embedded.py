"""The embedded mode's Celery worker and beat, running as threads of the web process.

With no REDIS_URL, Celery's broker is kombu's in-memory transport, which only
reaches consumers in the same process, so the worker and the beat scheduler
run beside the ASGI server (``manage.py serve``).
"""

import logging
import socket
import threading

from celery.beat import EmbeddedService
from celery.worker import WorkController

from corral.celery import app as celery_app

logger = logging.getLogger(__name__)


def start_embedded_worker() -> list[threading.Thread]:
    hostname = f"embedded@{socket.gethostname()}"
    # Image generation keeps one at a time (like a GPU worker); short tasks run beside it.
    workers = [
        WorkController(
            app=celery_app,
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
            queues=["default"],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        ),
    ]
    threads = [threading.Thread(target=worker.start, name=worker.hostname, daemon=True) for worker in workers]
    # Same database scheduler as `celery beat` in production: schedules stay editable in the admin.
    beat = EmbeddedService(celery_app, thread=True, scheduler_cls=celery_app.conf.beat_scheduler)
    for thread in threads:
        thread.start()
    beat.start()
    logger.info("embedded Celery workers and beat started")
    return threads
