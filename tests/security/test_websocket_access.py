"""Websockets through the real ASGI application (origin check, session auth, routing), like a browser.

Members of the project receive the events of its jobs; anyone else is refused with 4403 and never joins
the group: an event sent after the refused connect reaches a member listening beside them, not them.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from corral.asgi import application
from generation.jobs import job_group, llm_stream_group
from generation.models import GenerationJob
from labeling.models import Membership, Project, Task
from tests.factories import make_user
from tests.generation.test_progress import browser_headers, in_fresh_thread

ACTORS = ("anonymous", "annotator", "reviewer", "manager", "outsider", "staff")
ADMITTED = {"annotator", "reviewer", "manager", "staff"}
REFUSED = 4403
# Every websocket route of corral/routing.py, by its pattern, and the name its cases go by.
ROUTES = {"ws/jobs/<int:job_id>/": "job-progress", "ws/tasks/<int:pk>/llm/": "llm-stream"}


@pytest.fixture
def world(transactional_db) -> dict:
    project = Project.objects.create(slug="mixed", name="Mixed", kind=Project.Kind.TEXT)
    actors = {"anonymous": None, "staff": make_user("staff", is_staff=True, is_superuser=True)}
    for role in Membership.Role:
        actors[role.value] = make_user(role.value)
        Membership.objects.create(user=actors[role.value], project=project, role=role)
    actors["outsider"] = make_user("outsider")
    elsewhere = Project.objects.create(slug="elsewhere", name="Elsewhere")
    Membership.objects.create(user=actors["outsider"], project=elsewhere, role=Membership.Role.MANAGER)
    task = Task.objects.create(project=project, prompt="Why is the sky blue?", source=Task.Source.BATCH)
    # Pending, no progress yet: the job socket says nothing on connect, so the first message is the event.
    job = GenerationJob.objects.create(task=task, kind=GenerationJob.Kind.IMAGE)
    return {"actors": actors, "task": task, "job": job}


def sockets(world) -> dict[str, tuple[str, str, dict, dict]]:
    """Path, group, one group event of each consumer, and the message its browser gets for that event."""
    job, task = world["job"], world["task"]
    return {
        "job-progress": (
            f"/ws/jobs/{job.pk}/",
            job_group(job.pk),
            {"type": "generation.progress", "job": job.pk, "step": 1, "total": 4},
            {"type": "progress", "step": 1, "total": 4},
        ),
        "llm-stream": (
            f"/ws/tasks/{task.pk}/llm/",
            llm_stream_group(task.pk),
            {"type": "llm.delta", "candidate": 0, "seq": 0, "text": "Rayleigh"},
            {"type": "llm.delta", "candidate": 0, "seq": 0, "text": "Rayleigh"},
        ),
    }


def test_the_table_covers_every_websocket_route():
    from corral.routing import websocket_urlpatterns

    assert {str(route.pattern) for route in websocket_urlpatterns} == set(ROUTES)


def visit(
    path: str, group: str, event: dict, *, headers, watcher_headers
) -> tuple[tuple[bool, int | None], dict, bool]:
    """Connect as the actor and as a member beside them, send one group event; what each side saw."""

    async def scenario():
        actor = WebsocketCommunicator(application, path, headers=headers)
        watcher = WebsocketCommunicator(application, path, headers=watcher_headers)
        connected = await actor.connect()
        assert (await watcher.connect())[0]
        await get_channel_layer().group_send(group, event)
        watcher_got = await watcher.receive_json_from(timeout=10)
        if connected[0]:
            actor_got_it = await actor.receive_json_from(timeout=10) == watcher_got
        else:
            actor_got_it = not await actor.receive_nothing(timeout=0.5)
        await watcher.disconnect()
        await actor.disconnect()
        return connected, watcher_got, actor_got_it

    return in_fresh_thread(async_to_sync(scenario))


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("socket", ROUTES.values())
def test_only_members_join_a_socket_and_hear_its_events(world, socket, actor):
    path, group, event, message = sockets(world)[socket]
    (accepted, code), watcher_got, actor_got_it = visit(
        path,
        group,
        event,
        headers=browser_headers(world["actors"][actor]),
        watcher_headers=browser_headers(world["actors"]["manager"]),
    )
    assert watcher_got == message, "the event was sent and a member heard it"
    if actor in ADMITTED:
        assert accepted and actor_got_it
    else:
        assert (accepted, code) == (False, REFUSED)
        assert not actor_got_it, "a refused socket must not be in the group"


@pytest.mark.parametrize("socket", ROUTES.values())
def test_a_socket_from_another_site_is_refused_even_with_a_members_cookie(world, socket):
    path = sockets(world)[socket][0]
    headers = [
        (b"origin", b"https://evil.example") if name == b"origin" else (name, value)
        for name, value in browser_headers(world["actors"]["manager"])
    ]

    async def connect():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert in_fresh_thread(async_to_sync(connect)) is False


@pytest.mark.parametrize("socket", ROUTES.values())
def test_a_socket_for_an_object_that_does_not_exist_is_refused(world, socket):
    path = {"job-progress": "/ws/jobs/999999/", "llm-stream": "/ws/tasks/999999/llm/"}[socket]

    async def connect():
        communicator = WebsocketCommunicator(application, path, headers=browser_headers(world["actors"]["staff"]))
        connected = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert in_fresh_thread(async_to_sync(connect)) == (False, REFUSED)
