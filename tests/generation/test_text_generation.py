import asyncio
import random

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.urls import reverse
from django.utils import timezone

from generation.jobs import llm_stream_group
from generation.models import GenerationJob
from generation.tasks import fail_stuck_jobs, generate_text
from generation.text_jobs import retry_countdown, text_job_run
from generation.text_services import text_generation_request
from labeling.models import Candidate, Membership, Task
from tests.factories import make_user
from tests.generation.fake_openai import confident

PARIS = "The capital of France is Paris."


@pytest.fixture
def task(text_project, writer):
    text_project.audit_share = 0.0
    text_project.save()
    return Task.objects.create(project=text_project, prompt="What is the capital of France?", source="typed")


def new_job(task, user) -> GenerationJob:
    return text_generation_request(user=user, task=task)


def events_sent_while(run_job, group: str) -> list[dict]:
    """What the task page's group receives through the configured (real) channel layer while ``run_job`` runs."""

    async def listen():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await sync_to_async(run_job)()
        events = []
        while not events or events[-1]["type"] != "llm.status" or events[-1]["status"] == "retrying":
            events.append(await asyncio.wait_for(layer.receive(channel), timeout=30))
        await layer.group_discard(group, channel)
        return events

    return async_to_sync(listen)()


def test_a_confident_streamed_answer_is_stored_with_its_logprobs_and_accepted(fake_llm, task, writer):
    fake_llm.answer(confident(PARIS))
    job = new_job(task, writer)
    generate_text.apply(args=[job.pk])

    candidate = Candidate.objects.get(task=task)
    assert candidate.text == PARIS
    assert [item["token"] for item in candidate.token_logprobs] == PARIS.replace(" ", "\x00 ").split("\x00")
    assert candidate.token_logprobs[0]["logprob"] == pytest.approx(-0.01)
    assert candidate.model_name == "fake-model"
    assert candidate.params["logprobs"] is True and candidate.params["temperature"] == task.project.temperature
    assert candidate.review_state == Candidate.ReviewState.ACCEPTED
    assert candidate.confidence == pytest.approx(0.99, abs=0.001)
    assert candidate.uncertainty["weakest_span"]["text"]
    job.refresh_from_db()
    task.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.progress_step == 1
    assert task.status == Task.Status.READY
    request = fake_llm.requests[0]
    assert request["stream"] is True and request["logprobs"] is True
    assert request["_authorization"] == "Bearer test-key"
    assert request["messages"][-1] == {"role": "user", "content": task.prompt}


def test_streamed_pieces_reach_the_task_pages_group_in_order(fake_llm, task, writer):
    pieces = confident("one two three four five six seven eight")
    fake_llm.answer(pieces)
    job = new_job(task, writer)
    events = events_sent_while(lambda: text_job_run(job_id=job.pk), llm_stream_group(task.pk))

    assert events[0] == {"type": "llm.start", "candidate": 0}
    deltas = [event for event in events if event["type"] == "llm.delta"]
    assert [event["seq"] for event in deltas] == list(range(len(pieces)))
    assert [event["text"] for event in deltas] == [token for token, _ in pieces]
    assert [event["type"] for event in events[-2:]] == ["llm.done", "llm.status"]
    assert events[-1]["status"] == "succeeded"


@pytest.mark.redis
def test_streamed_pieces_cross_redis_in_order(fake_llm, task, writer):
    test_streamed_pieces_reach_the_task_pages_group_in_order(fake_llm, task, writer)


def test_a_hedged_answer_goes_to_review(fake_llm, task, writer):
    fake_llm.answer(confident("Maybe it is Paris, I think."))
    text_job_run(job_id=new_job(task, writer).pk)
    candidate = Candidate.objects.get(task=task)
    assert candidate.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert candidate.review_reason == "hedge words: maybe, I think"


def test_an_unsure_answer_goes_to_review_with_its_weakest_span(fake_llm, task, writer):
    fake_llm.answer([("The", -0.01), (" capital", -0.01), (" is", -0.01), (" Ly", -2.5), ("on", -2.0), (".", -0.01)])
    text_job_run(job_id=new_job(task, writer).pk)
    candidate = Candidate.objects.get(task=task)
    assert candidate.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert candidate.review_reason.startswith("confidence 0.")
    assert "Lyon" in candidate.uncertainty["weakest_span"]["text"]


def test_the_audit_share_routes_confident_answers_to_review(fake_llm, task, writer):
    task.project.audit_share = 1.0
    task.project.save()
    fake_llm.answer(confident(PARIS))
    text_job_run(job_id=new_job(task, writer).pk, rng=random.Random(7))
    candidate = Candidate.objects.get(task=task)
    assert (candidate.review_state, candidate.review_reason) == ("needs_review", "random audit")


def test_a_server_without_logprobs_works_and_the_answer_goes_to_review(fake_llm, task, writer):
    fake_llm.answer(confident(PARIS), logprobs=False)
    text_job_run(job_id=new_job(task, writer).pk)
    candidate = Candidate.objects.get(task=task)
    assert candidate.text == PARIS and candidate.token_logprobs is None and candidate.confidence is None
    assert candidate.review_state == "needs_review" and "confidence unknown" in candidate.review_reason


def test_a_server_that_rejects_logprobs_is_asked_again_without_them(fake_llm, task, writer):
    fake_llm.answer(confident(PARIS), reject_logprobs=True)
    assert text_job_run(job_id=new_job(task, writer).pk).status == "succeeded"
    assert [request.get("logprobs") for request in fake_llm.requests] == [True, None]
    assert Candidate.objects.get(task=task).text == PARIS


def test_a_rate_limit_is_retried_and_then_succeeds(fake_llm, task, writer):
    fake_llm.fail(429, "Rate limit reached, slow down")
    fake_llm.answer(confident(PARIS))
    job = new_job(task, writer)
    generate_text.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert len(fake_llm.requests) == 2
    assert Candidate.objects.get(task=task).text == PARIS


def test_while_waiting_to_retry_the_job_is_pending_with_the_servers_message(fake_llm, task, writer, settings):
    settings.LLM_RETRY_BASE_SECONDS = 5
    fake_llm.fail(500, "upstream overloaded")
    job = new_job(task, writer)
    outcome = text_job_run(job_id=job.pk, attempt=0, max_retries=3)
    assert outcome.status == "retrying" and outcome.retry_in == 5
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.PENDING
    assert job.error_message == "Attempt 1 of 4 failed (500: upstream overloaded); retrying in 5 s."
    fake_llm.answer(confident(PARIS))
    assert text_job_run(job_id=job.pk, attempt=1, max_retries=3).status == "succeeded"


def test_the_backoff_doubles_and_is_capped(settings):
    settings.LLM_RETRY_BASE_SECONDS = 2
    settings.LLM_RETRY_MAX_SECONDS = 20
    assert [retry_countdown(attempt) for attempt in range(6)] == [2, 4, 8, 16, 20, 20]


def test_a_timeout_is_transient_and_the_last_attempt_fails_the_job(fake_llm, task, writer, settings):
    settings.OPENAI_TIMEOUT_SECONDS = 0.5
    fake_llm.hang()
    job = new_job(task, writer)
    assert text_job_run(job_id=job.pk, attempt=2, max_retries=2).status == "failed"
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message.startswith("Gave up after 3 attempts: the LLM server did not answer within 0.5 s")


def test_an_invalid_key_fails_at_once_with_the_servers_message(fake_llm, task, writer, client):
    fake_llm.fail(401, "Incorrect API key provided: sk-wrong")
    job = new_job(task, writer)
    generate_text.apply(args=[job.pk])
    job.refresh_from_db()
    task.refresh_from_db()
    assert len(fake_llm.requests) == 1
    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message == "401: Incorrect API key provided: sk-wrong"
    assert task.status == Task.Status.FAILED

    client.force_login(writer)
    page = client.get(task.get_absolute_url()).content.decode()
    assert "401: Incorrect API key provided: sk-wrong" in page
    assert reverse("generation-retry", args=[task.pk]) in page


def test_retrying_a_failed_job_queues_a_new_one(fake_llm, task, writer, client):
    fake_llm.fail(404, "The model `gpt-nope` does not exist")
    job = new_job(task, writer)
    text_job_run(job_id=job.pk)
    client.force_login(writer)
    response = client.post(reverse("generation-retry", args=[task.pk]))
    assert response.status_code == 302
    retry = task.generation_jobs.latest("created_at")
    assert retry.pk != job.pk and retry.status == GenerationJob.Status.PENDING
    fake_llm.answer(confident(PARIS))
    assert text_job_run(job_id=retry.pk).status == "succeeded"


def test_a_second_delivery_of_the_same_job_does_nothing(fake_llm, task, writer):
    fake_llm.answer(confident(PARIS))
    job = new_job(task, writer)
    assert text_job_run(job_id=job.pk).status == "succeeded"
    assert text_job_run(job_id=job.pk).status == "skipped"
    assert len(fake_llm.requests) == 1 and Candidate.objects.filter(task=task).count() == 1


def test_asking_twice_gives_the_same_pending_job(fake_llm, task, writer):
    assert new_job(task, writer).pk == new_job(task, writer).pk
    assert GenerationJob.objects.count() == 1


def test_a_pair_task_keeps_the_first_answer_when_the_second_needs_a_retry(fake_llm, task, writer):
    task.project.candidates_per_task = 2
    task.project.save()
    fake_llm.answer(confident("Paris."))
    fake_llm.fail(503, "try later")
    job = new_job(task, writer)
    assert text_job_run(job_id=job.pk).status == "retrying"
    fake_llm.answer(confident("It is Paris."))
    assert text_job_run(job_id=job.pk, attempt=1).status == "succeeded"
    answers = list(Candidate.objects.filter(task=task).values_list("index", "text"))
    assert answers == [(0, "Paris."), (1, "It is Paris.")]
    assert len(fake_llm.requests) == 3


def test_without_an_llm_the_page_says_not_configured_and_nothing_is_queued(task, writer, client, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    client.force_login(writer)
    page = client.get(task.get_absolute_url()).content.decode()
    assert "LLM not configured" in page
    assert reverse("generation-text-generate", args=[task.pk]) not in page
    response = client.post(reverse("generation-text-generate", args=[task.pk]), follow=True)
    assert "LLM not configured" in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_the_generate_button_queues_a_job(fake_llm, task, writer, client):
    client.force_login(writer)
    assert reverse("generation-text-generate", args=[task.pk]) in client.get(task.get_absolute_url()).content.decode()
    response = client.post(reverse("generation-text-generate", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="text-panel"' in response.content.decode()
    assert GenerationJob.objects.get().status == GenerationJob.Status.PENDING
    task.refresh_from_db()
    assert task.status == Task.Status.GENERATING


def test_outsiders_cannot_ask_for_answers(fake_llm, task, outsider, client):
    client.force_login(outsider)
    assert client.post(reverse("generation-text-generate", args=[task.pk])).status_code == 404
    assert not GenerationJob.objects.exists()


def test_a_manager_queues_answers_for_every_new_task(fake_llm, text_project, client):
    boss = make_user("bea")
    Membership.objects.create(user=boss, project=text_project, role=Membership.Role.MANAGER)
    for prompt in ["one?", "two?"]:
        Task.objects.create(project=text_project, prompt=prompt, source="batch")
    client.force_login(boss)
    response = client.post(reverse("generation-text-generate-batch", args=[text_project.slug]), follow=True)
    assert "Queued answers for 2 new tasks." in response.content.decode()
    assert GenerationJob.objects.filter(status="pending", kind="text").count() == 2


def test_a_text_job_stuck_running_is_failed_by_the_beat_and_its_task_page_hears_it(fake_llm, task, writer, settings):
    settings.GENERATION_JOB_TIME_LIMIT_SECONDS = 600
    job = new_job(task, writer)
    long_ago = timezone.now() - timezone.timedelta(seconds=601)
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.RUNNING, started_at=long_ago)

    events = events_sent_while(lambda: fail_stuck_jobs.apply(), llm_stream_group(task.pk))

    job.refresh_from_db()
    task.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED and "did not finish within 10 minutes" in job.error_message
    assert task.status == Task.Status.FAILED
    assert events == [{"type": "llm.status", "status": "failed", "message": job.error_message}]
