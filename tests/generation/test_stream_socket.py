import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from generation.consumers import JobUpdatesConsumer
from generation.jobs import llm_stream_group
from generation.models import GenerationJob
from generation.realtime import group_send
from labeling.models import Membership, Task
from tests.factories import make_user


def communicator_for(user, task_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(JobUpdatesConsumer.as_asgi(), f"/ws/tasks/{task_id}/llm/")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"pk": task_id}}
    return communicator


@pytest.fixture
def task(transactional_db, text_project):
    return Task.objects.create(project=text_project, prompt="Why is the sky blue?", source="typed")


def test_members_receive_the_stream_of_their_task_in_order(task):
    member = make_user("mia")
    Membership.objects.create(user=member, project=task.project)

    async def watch() -> list[dict]:
        communicator = communicator_for(member, task.pk)
        connected, _ = await communicator.connect()
        assert connected
        for seq, text in enumerate(["Rayleigh", " scattering", "."]):
            event = {"type": "llm.delta", "candidate": 0, "seq": seq, "text": text}
            await sync_to_async(group_send)(llm_stream_group(task.pk), event)
        received = [await communicator.receive_json_from(timeout=10) for _ in range(3)]
        await communicator.disconnect()
        return received

    received = async_to_sync(watch)()
    assert [event["text"] for event in received] == ["Rayleigh", " scattering", "."]
    assert [event["seq"] for event in received] == [0, 1, 2]


def test_outsiders_are_turned_away(task, outsider):
    communicator = communicator_for(outsider, task.pk)
    connected, code = async_to_sync(communicator.connect)()
    assert not connected and code == 4403


def test_a_page_that_connects_late_is_told_where_the_job_stands(task):
    member = make_user("mia")
    Membership.objects.create(user=member, project=task.project)
    GenerationJob.objects.create(
        task=task, kind=GenerationJob.Kind.TEXT, status=GenerationJob.Status.FAILED, error_message="401: bad key"
    )

    async def first_event() -> dict:
        communicator = communicator_for(member, task.pk)
        connected, _ = await communicator.connect()
        assert connected
        event = await communicator.receive_json_from(timeout=10)
        await communicator.disconnect()
        return event

    assert async_to_sync(first_event)() == {"type": "llm.status", "status": "failed", "message": "401: bad key"}
