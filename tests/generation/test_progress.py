import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from django.test import Client

from corral.asgi import application
from generation.jobs import job_group
from generation.models import GenerationJob
from generation.services import generation_request
from generation.tasks import generate_images
from tests.generation.conftest import TEST_STEPS


def browser_headers(user) -> list[tuple[bytes, bytes]]:
    """What a logged-in browser sends when it opens a websocket: its origin and session cookie."""
    headers = [(b"origin", b"http://127.0.0.1")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    return headers


# The consumer reaches the database through database_sync_to_async, which closes connections that sit
# inside a transaction, and everything runs in a thread of its own (below): these tests commit for real.
committing = pytest.mark.django_db(transaction=True)


def in_fresh_thread(function, *args):
    """Call ``function`` in a new thread: Playwright's sync API leaves an event loop running in the main
    thread once a browser test has run, and async_to_sync refuses to run there."""

    def call():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def socket_for(headers, job_id: int) -> WebsocketCommunicator:
    """A websocket through the real ASGI stack (origin check, session auth)."""
    return WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)


@pytest.mark.redis
@committing
def test_progress_events_reach_the_channel_layer_in_order_and_end_at_n_of_n(image_project, annotator):
    job = generation_request(user=annotator, project=image_project, prompt="a heron").job
    layer = get_channel_layer()

    async def listen() -> str:
        channel = await layer.new_channel("test.")
        await layer.group_add(job_group(job.pk), channel)
        return channel

    async def drain(channel: str) -> list[dict]:
        events = []
        while not events or events[-1]["type"] != "generation.finished":
            events.append(await asyncio.wait_for(layer.receive(channel), timeout=10))
        return events

    def generate_and_listen() -> list[dict]:
        channel = async_to_sync(listen)()
        generate_images.apply(args=[job.pk])
        return async_to_sync(drain)(channel)

    events = in_fresh_thread(generate_and_listen)

    progress = [(event["step"], event["total"]) for event in events[:-1]]
    assert all(event["type"] == "generation.progress" for event in events[:-1])
    assert progress[-1] == (TEST_STEPS, TEST_STEPS)
    assert [step for step, _ in progress] == sorted({step for step, _ in progress})
    assert events[-1] == {"type": "generation.finished", "job": job.pk, "status": "succeeded", "message": ""}


@committing
def test_the_websocket_refuses_outsiders_and_anonymous_visitors(image_project, annotator, outsider):
    job = generation_request(user=annotator, project=image_project, prompt="a heron").job

    async def attempt(headers) -> tuple[bool, int]:
        communicator = socket_for(headers, job.pk)
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert in_fresh_thread(async_to_sync(attempt), browser_headers(outsider)) == (False, 4403)
    assert in_fresh_thread(async_to_sync(attempt), browser_headers(None)) == (False, 4403)
    assert in_fresh_thread(async_to_sync(attempt), browser_headers(annotator))[0] is True


@committing
def test_a_member_who_connects_late_is_told_the_job_already_finished(image_project, annotator):
    job = generation_request(user=annotator, project=image_project, prompt="a heron").job
    generate_images.apply(args=[job.pk])

    headers = browser_headers(annotator)

    async def watch() -> list[dict]:
        communicator = socket_for(headers, job.pk)
        connected, _ = await communicator.connect()
        assert connected
        messages = [await communicator.receive_json_from(), await communicator.receive_json_from()]
        await communicator.disconnect()
        return messages

    assert in_fresh_thread(async_to_sync(watch)) == [
        {"type": "progress", "step": TEST_STEPS, "total": TEST_STEPS},
        {"type": "finished", "status": "succeeded", "message": ""},
    ]


@committing
def test_a_member_hears_a_running_jobs_progress_then_its_end(image_project, annotator):
    job = generation_request(user=annotator, project=image_project, prompt="a heron").job

    headers = browser_headers(annotator)

    async def watch() -> list[dict]:
        communicator = socket_for(headers, job.pk)
        connected, _ = await communicator.connect()
        assert connected
        layer = get_channel_layer()
        group = job_group(job.pk)
        await layer.group_send(group, {"type": "generation.progress", "job": job.pk, "step": 2, "total": 4})
        await layer.group_send(
            group, {"type": "generation.finished", "job": job.pk, "status": "failed", "message": "out of memory"}
        )
        messages = [await communicator.receive_json_from(), await communicator.receive_json_from()]
        await communicator.disconnect()
        return messages

    assert in_fresh_thread(async_to_sync(watch)) == [
        {"type": "progress", "step": 2, "total": 4},
        {"type": "finished", "status": "failed", "message": "out of memory"},
    ]
    assert GenerationJob.objects.get(pk=job.pk).status == GenerationJob.Status.PENDING
