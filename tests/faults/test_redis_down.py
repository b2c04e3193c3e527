"""Redis stops while annotators vote: votes still save, live updates degrade and say so, and come back with Redis."""

import json

import pytest
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from generation.models import GenerationJob
from generation.text_jobs import text_job_run
from generation.text_services import text_generation_request
from labeling.models import Candidate, Task, Vote
from tests.faults.conftest import wait_until
from tests.faults.http import Annotator
from tests.faults.scenario import session_for
from tests.generation.fake_openai import FakeOpenAI, confident, start

pytestmark = [pytest.mark.fault, pytest.mark.postgres]


def watch_job(server, session_key: str, job_id: int) -> dict:
    """Open the task page's progress socket (on the websocket server, from the page's origin); its first message."""
    uri = f"{server.websocket_origin}/ws/jobs/{job_id}/"
    headers = {"Cookie": f"sessionid={session_key}", "Origin": server.base_url}
    with connect(uri, additional_headers=headers, open_timeout=10) as socket:
        return json.loads(socket.recv(timeout=10))


def health(user: Annotator) -> dict:
    return json.loads(user.request("GET", "/healthz").body)


@pytest.fixture
def voting_task(project):
    task = Task.objects.create(project=project, prompt="a heron", source=Task.Source.BATCH, status=Task.Status.READY)
    for index in range(3):
        Candidate.objects.create(task=task, index=index)
    return task


@pytest.fixture
def running_job(project):
    task = Task.objects.create(project=project, prompt="an owl", source=Task.Source.BATCH, status="generating")
    return GenerationJob.objects.create(task=task, kind="image", status="running", progress_step=3, progress_total=10)


def test_votes_save_while_redis_is_down_and_live_updates_say_so_and_return_with_it(
    annotator, voting_task, running_job, private_redis, processes, production_env, shared_database
):
    server = processes.server(production_env(database_url=shared_database, redis_url=private_redis.url()))
    session = session_for(annotator)
    user = Annotator(server.base_url, session)
    assert health(user)["channel_layer"]["ok"] is True
    assert watch_job(server, session, running_job.pk) == {"type": "progress", "step": 3, "total": 10}

    private_redis.stop()

    candidates = list(voting_task.candidates.order_by("index"))
    for candidate in candidates:
        reply = user.vote(str(candidate.uid), "up")
        assert reply.status == 200, reply.body
    assert Vote.objects.filter(user=annotator, value=Vote.Value.UP).count() == len(candidates)
    page = user.request("GET", f"/tasks/{running_job.task_id}/")
    assert page.status == 200 and 'id="live-updates-notice"' in page.body
    with pytest.raises(InvalidStatus):
        watch_job(server, session, running_job.pk)
    down = health(user)
    assert down["channel_layer"]["ok"] is False and down["broker"]["ok"] is False
    assert down["database"]["ok"] is True

    private_redis.start()

    def socket_back():
        try:
            return watch_job(server, session, running_job.pk)
        except (OSError, WebSocketException):
            return None

    assert wait_until(socket_back, timeout=30, what="the socket to work again") == {
        "type": "progress",
        "step": 3,
        "total": 10,
    }
    assert health(user)["channel_layer"]["ok"] is True


def test_a_text_job_streaming_to_a_stopped_redis_still_stores_its_answer(
    text_project, annotator, private_redis, settings
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [private_redis.url()]}}
    }
    fake = FakeOpenAI()
    fake.answer(confident("The capital of France is Paris."))
    llm_server = start(fake)
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = fake.base_url, "test-key"
    text_project.audit_share = 0
    text_project.save()
    task = Task.objects.create(project=text_project, prompt="Capital of France?", source=Task.Source.TYPED)
    private_redis.stop()
    try:
        job = text_generation_request(user=annotator, task=task)
        assert text_job_run(job_id=job.pk).status == "succeeded"
    finally:
        llm_server.shutdown()
    assert Candidate.objects.get(task=task).text == "The capital of France is Paris."


@pytest.mark.browser
def test_the_task_page_says_live_updates_are_unavailable_until_redis_is_back(
    browser, annotator, running_job, private_redis, processes, production_env, shared_database
):
    server = processes.server(production_env(database_url=shared_database, redis_url=private_redis.url()))
    context = browser.new_context(base_url=server.base_url)
    context.add_cookies([{"name": "sessionid", "value": session_for(annotator), "url": server.base_url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    notice = page.locator("#live-updates-notice")
    try:
        private_redis.stop()
        page.goto(f"/tasks/{running_job.task_id}/")
        notice.filter(has_text="Live updates are unavailable; refreshing every 1.5 s.").wait_for(state="visible")
        # Meanwhile the panel is polled: a step saved by the worker shows without the socket.
        GenerationJob.objects.filter(pk=running_job.pk).update(progress_step=7)
        page.locator("#job-status", has_text="step 7 of 10").wait_for()

        private_redis.start()
        notice.wait_for(state="hidden")
    finally:
        context.close()


def test_a_prompt_sent_while_redis_is_down_fails_its_job_with_a_reason_and_a_retry_queues_it_once_redis_is_back(
    project, annotator, private_redis, processes, production_env, shared_database
):
    server = processes.server(production_env(database_url=shared_database, redis_url=private_redis.url()))
    user = Annotator(server.base_url, session_for(annotator))
    private_redis.stop()

    sent = user.request("POST", f"/p/{project.slug}/generate", {"prompt": "a heron in the fog"})

    assert sent.status == 302, sent.body
    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.FAILED and "job queue could not be reached" in job.error_message
    page = user.request("GET", f"/tasks/{job.task_id}/")
    assert "job queue could not be reached" in page.body and "Retry" in page.body

    private_redis.start()
    assert user.request("POST", f"/tasks/{job.task_id}/retry").status == 302
    assert GenerationJob.objects.exclude(pk=job.pk).get().status == GenerationJob.Status.PENDING
