"""Generation overhead: the bare diffusers call against a request that goes through Corral.

bare_s        median time of ``pipe(...)`` alone (4 images, 64 px, 10 steps, the demo model)
end_to_end_s  median time from ``generation_request`` (the service the prompt form calls) to the
              job's ``finished`` event reaching a subscriber of its channel-layer group, as the task
              page's websocket hears it, with the 4 candidates stored with their PNG files; made by a
              real Celery worker thread
ratio         end_to_end_s / bare_s (goal: <= 1.10)

Runs standalone on a temporary SQLite database, in-process broker and channel layer, with the event
loop in a thread of its own as ``manage.py serve`` runs it (the embedded mode); the two measurements
alternate so that load on a shared machine hits both alike.
Usage: .venv/bin/python bench/generation.py [--runs N]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name in ("DATABASE_URL", "REDIS_URL", "SD_MODEL"):
    os.environ.pop(name, None)
os.environ.update(
    CORRAL_VAR_DIR=tempfile.mkdtemp(prefix="corral-bench-"),
    DEBUG="1",
    DJANGO_SETTINGS_MODULE="corral.settings",
    GENERATION_MAX_PER_HOUR_PER_USER="100000",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from celery.contrib.testing.worker import start_worker  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from corral.celery import app  # noqa: E402
from generation import images  # noqa: E402
from generation.demo_model import save_demo_model  # noqa: E402
from generation.jobs import job_group  # noqa: E402
from generation.models import GenerationJob  # noqa: E402
from generation.realtime import set_server_loop  # noqa: E402
from generation.services import generation_request  # noqa: E402
from labeling.models import Candidate, Membership, Project  # noqa: E402

STEPS, SIZE, CANDIDATES = 10, 64, 4
PROMPT = "a lighthouse on a cliff at sunset, oil painting"


def bare_run(model: str, seed: int) -> float:
    import torch

    pipe = images.pipeline_for(model)
    generators = [torch.Generator("cpu").manual_seed(seed + index) for index in range(CANDIDATES)]
    started = time.perf_counter()
    pipe(
        PROMPT,
        num_images_per_prompt=CANDIDATES,
        generator=generators,
        num_inference_steps=STEPS,
        guidance_scale=7.5,
        width=SIZE,
        height=SIZE,
    )
    return time.perf_counter() - started


def server_loop() -> asyncio.AbstractEventLoop:
    """The web server's event loop in a thread, where the worker's live updates go in the embedded mode."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="server-loop", daemon=True).start()
    set_server_loop(loop)
    return loop


async def subscribe(job_id: int) -> str:
    """Join the job's group as the task page's websocket consumer does."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(job_group(job_id), channel)
    return channel


async def finished(job_id: int, channel: str) -> None:
    layer = get_channel_layer()
    while (await layer.receive(channel))["type"] != "generation.finished":
        pass
    await layer.group_discard(job_group(job_id), channel)


def end_to_end_run(user, project, loop: asyncio.AbstractEventLoop) -> float:
    started = time.perf_counter()
    request = generation_request(user=user, project=project, prompt=PROMPT)
    channel = asyncio.run_coroutine_threadsafe(subscribe(request.job.pk), loop).result()
    # Like the consumer, read the state after joining, in case the job finished before that.
    if GenerationJob.objects.filter(pk=request.job.pk, status__in=GenerationJob.ACTIVE_STATUSES).exists():
        asyncio.run_coroutine_threadsafe(finished(request.job.pk, channel), loop).result()
    elapsed = time.perf_counter() - started
    task = request.task
    candidates = list(Candidate.objects.filter(task=task))
    assert len(candidates) == CANDIDATES and all(c.image.storage.exists(c.image.name) for c in candidates)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs

    call_command("migrate", verbosity=0)
    model = str(save_demo_model(settings.DEMO_MODEL_PATH))
    user = django.contrib.auth.get_user_model().objects.create_user("bench", password="unused-in-bench")
    project = Project.objects.create(
        slug="bench",
        name="Bench",
        image_steps=STEPS,
        image_width=SIZE,
        image_height=SIZE,
        candidates_per_task=CANDIDATES,
    )
    Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)

    loop = server_loop()
    bare, end_to_end = [], []
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["gpu", "default"], loglevel="WARNING"):
        bare_run(model, 0)  # load and warm up the pipeline both paths share
        end_to_end_run(user, project, loop)
        for run in range(runs):
            bare.append(bare_run(model, run))
            end_to_end.append(end_to_end_run(user, project, loop))

    bare_s, end_to_end_s = statistics.median(bare), statistics.median(end_to_end)
    print(f"runs: {runs}")
    print(f"bare_s: {bare_s:.3f}")
    print(f"end_to_end_s: {end_to_end_s:.3f}")
    print(f"ratio: {end_to_end_s / bare_s:.3f}")


if __name__ == "__main__":
    main()
