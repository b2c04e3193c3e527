"""The task page of a text project: Generate, watch the answer stream in, see where it was routed."""

import json

import pytest

from generation.models import GenerationJob
from labeling.models import Candidate, Membership, Task
from tests.factories import make_user
from tests.generation.conftest import celery_worker, purge_queues
from tests.generation.fake_openai import confident

pytestmark = pytest.mark.browser
ANSWER = "Sunlight is scattered by the air, and blue light the most."


def test_an_annotator_generates_an_answer_and_watches_it_stream_in(text_project, fake_llm, login_page):
    purge_queues()
    text_project.audit_share = 0
    text_project.save()
    annotator = make_user("annie")
    Membership.objects.create(user=annotator, project=text_project, role=Membership.Role.ANNOTATOR)
    task = Task.objects.create(project=text_project, prompt="Why is the sky blue?", source=Task.Source.BATCH)
    fake_llm.answer(confident(ANSWER))
    page = login_page(annotator)
    page.goto(f"/tasks/{task.pk}/")

    with page.expect_websocket() as socket_info:
        page.get_by_role("button", name="Generate answer").click()
    socket = socket_info.value
    # The socket first says where the job stands; only once the page listens does the worker start.
    frames = [json.loads(socket.wait_for_event("framereceived"))]
    socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))
    assert frames[0] == {"type": "llm.status", "status": "pending", "message": ""}

    with celery_worker():
        page.locator(".answer-state", has_text="Answer 1").wait_for(timeout=30_000)

    deltas = [frame for frame in frames if frame["type"] == "llm.delta"]
    assert "".join(frame["text"] for frame in deltas) == ANSWER
    assert [frame["seq"] for frame in deltas] == list(range(len(deltas))) and len(deltas) > 1
    assert frames[-1] == {"type": "llm.status", "status": "succeeded", "message": ""}
    assert "Accepted automatically" in page.locator("#text-panel").inner_text()
    assert Candidate.objects.get(task=task).text == ANSWER
    assert GenerationJob.objects.get(task=task).status == GenerationJob.Status.SUCCEEDED
