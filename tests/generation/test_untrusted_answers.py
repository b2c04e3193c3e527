"""A server that misbehaves, through the real openai client: every answer is either stored (made safe to store,
with the change noted) and sent to a person when it cannot be trusted, or its job fails with a message a person
understands and a retry. Run on PostgreSQL too: it refuses NUL, lone surrogates and NaN that SQLite keeps."""

import json
import math
import re

import pytest
from django.urls import reverse

from generation.llm import NOT_A_STREAM, UNREADABLE_REPLY
from generation.models import GenerationJob
from generation.tasks import generate_text
from generation.text_services import text_generation_request
from labeling.models import Candidate, Membership, Task
from tests.factories import member
from tests.generation.fake_openai import Raw, chunk, confident, sse

pytestmark = pytest.mark.fault

PARIS = "The capital of France is Paris."
EXCEPTION_NAME = re.compile(r"[A-Z]\w*(Error|Exception)\b|Internal error")


@pytest.fixture
def task(text_project):
    text_project.audit_share = 0.0
    text_project.save()
    return Task.objects.create(project=text_project, prompt="What is the capital of France?", source="typed")


@pytest.fixture
def reviewer_client(client, text_project):
    client.force_login(member(text_project, "ravi", role=Membership.Role.REVIEWER))
    return client


def run_job(task, writer) -> GenerationJob:
    job = text_generation_request(user=writer, task=task)
    generate_text.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def stored_answer(task, writer) -> Candidate:
    job = run_job(task, writer)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
    return Candidate.objects.get(task=task)


def review_page(client, candidate) -> str:
    response = client.get(reverse("labeling-review-answer", args=[candidate.uid]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [
        ("length", "the server cut the answer off at its length limit (finish reason: length)"),
        ("content_filter", "the server's content filter withheld or cut the answer (finish reason: content_filter)"),
    ],
)
def test_a_confident_answer_the_server_cut_off_or_filtered_goes_to_review_with_the_reason_shown(
    fake_llm, task, writer, reviewer_client, finish_reason, reason
):
    fake_llm.answer(confident(PARIS), finish_reason=finish_reason)

    answer = stored_answer(task, writer)

    assert answer.confidence > 0.98
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert answer.review_reason == reason
    assert answer.params["finish_reason"] == finish_reason
    assert reason in review_page(reviewer_client, answer).replace("&#x27;", "'")


def test_an_empty_answer_is_stored_and_goes_to_review_instead_of_failing_the_job(
    fake_llm, task, writer, reviewer_client
):
    fake_llm.answer([])

    answer = stored_answer(task, writer)

    assert answer.text == ""
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert answer.review_reason.startswith("the model returned an empty answer")
    assert "the model returned an empty answer" in review_page(reviewer_client, answer)


def test_nul_characters_and_lone_surrogates_are_removed_noted_and_the_answer_goes_to_review(
    fake_llm, task, writer, reviewer_client
):
    fake_llm.answer([("The capital\x00", -0.01), (" is", -0.01), (" Par\ud800is.", -0.01)])

    answer = stored_answer(task, writer)

    assert answer.text == "The capital is Paris."
    assert [item["token"] for item in answer.token_logprobs] == ["The capital", " is", " Paris."]
    note = "2 character(s) that cannot be stored (NUL or broken Unicode) were removed"
    assert answer.params["changed_to_store"] == [note]
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert answer.review_reason == note
    assert note in review_page(reviewer_client, answer)


def test_token_probabilities_that_are_not_numbers_are_dropped_and_the_answer_goes_to_review(fake_llm, task, writer):
    fake_llm.answer([("The capital", -0.01), (" is", math.nan), (" Paris", -math.inf), (".", math.inf)])

    answer = stored_answer(task, writer)

    assert answer.text == "The capital is Paris."
    assert [item["logprob"] for item in answer.token_logprobs] == [-0.01, None, None, None]
    note = "3 of 4 token probabilities were not numbers (NaN or infinite); those tokens count as least sure"
    assert answer.params["changed_to_store"] == [note]
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert note in answer.review_reason
    assert answer.confidence < 0.5


def test_an_answer_whose_probabilities_are_all_unusable_has_no_confidence_and_goes_to_review(fake_llm, task, writer):
    fake_llm.answer([("Paris", math.nan), (".", math.nan)])

    answer = stored_answer(task, writer)

    assert answer.token_logprobs is None and answer.confidence is None
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert "none of the token probabilities was a number" in answer.review_reason
    assert "confidence unknown" in answer.review_reason


def test_an_answer_without_token_probabilities_goes_to_review_with_the_reason_shown(
    fake_llm, task, writer, reviewer_client
):
    fake_llm.answer(confident(PARIS), logprobs=False)

    answer = stored_answer(task, writer)

    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert "no token probabilities" in review_page(reviewer_client, answer)


def test_probabilities_that_do_not_spell_the_answer_send_it_to_review(fake_llm, task, writer):
    answered = chunk(PARIS)
    answered["choices"][0]["logprobs"] = {"content": [{"token": "Lyon", "logprob": -0.01, "top_logprobs": []}]}
    fake_llm.raw(sse(answered, chunk(finish_reason="stop")))

    answer = stored_answer(task, writer)

    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert "the token probabilities do not match the answer's text" in answer.review_reason


def test_chunks_of_the_wrong_shape_are_skipped_and_the_rest_of_the_answer_is_kept(fake_llm, task, writer):
    fake_llm.raw(sse({"choices": "none"}, {"choices": [None]}, chunk(PARIS), chunk(finish_reason="stop")))

    answer = stored_answer(task, writer)

    assert answer.text == PARIS


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Raw(sse(chunk("The capital"), b"{not json")), UNREADABLE_REPLY),
        (Raw(sse(chunk("caf"), b'{"choices": [{"index": 0, "delta": {"content": "\xff\xfe"}}]}')), UNREADABLE_REPLY),
        (Raw(b"<html><body>Bad gateway</body></html>", content_type="text/html"), NOT_A_STREAM),
        (Raw(b"{this is not json", content_type="application/json"), NOT_A_STREAM),
        (Raw(b"data: " + json.dumps(chunk("The capital")).encode()[:40]), None),
    ],
    ids=["malformed-sse-event", "not-utf8", "html-body", "invalid-json-body", "truncated-stream"],
)
def test_a_reply_that_cannot_be_read_fails_the_job_with_a_plain_message_and_a_retry_succeeds(
    fake_llm, task, writer, client, settings, reply, message
):
    settings.LLM_MAX_RETRIES = 1
    fake_llm.exhausted = reply

    job = run_job(task, writer)

    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message.startswith("Gave up after 2 attempts: ")
    if message is not None:
        assert job.error_message == f"Gave up after 2 attempts: {message}"
    assert not EXCEPTION_NAME.search(job.error_message), job.error_message
    assert not Candidate.objects.filter(task=task).exists()
    client.force_login(writer)
    page = client.get(task.get_absolute_url()).content.decode()
    assert reverse("generation-retry", args=[task.pk]) in page

    fake_llm.exhausted = Raw(b"", status=500, content_type="application/json")
    fake_llm.answer(confident(PARIS))
    assert client.post(reverse("generation-retry", args=[task.pk])).status_code == 302
    retry = task.generation_jobs.exclude(pk=job.pk).get()
    generate_text.apply(args=[retry.pk])
    retry.refresh_from_db()
    assert retry.status == GenerationJob.Status.SUCCEEDED
    assert list(Candidate.objects.filter(task=task).values_list("text", flat=True)) == [PARIS]
