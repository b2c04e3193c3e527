"""The LLM server fails, hangs or breaks off: text jobs end failed with a clear message (or succeed on a retry),
never stay running, never keep half an answer, and can be retried from the task page."""

import pytest
from django.urls import reverse

from generation.models import GenerationJob
from generation.tasks import generate_text
from generation.text_services import text_generation_request
from labeling.models import Candidate, Task
from tests.generation.fake_openai import Failure, Hang, confident

pytestmark = pytest.mark.fault

PARIS = "The capital of France is Paris."


@pytest.fixture
def task(text_project):
    text_project.audit_share = 0.0
    text_project.save()
    return Task.objects.create(project=text_project, prompt="What is the capital of France?", source="typed")


def run_job(task, writer) -> GenerationJob:
    """Request the task's answer and run its Celery task with every retry it asks for."""
    job = text_generation_request(user=writer, task=task)
    generate_text.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_a_server_answering_500_every_time_fails_the_job_and_a_retry_from_the_page_succeeds(
    fake_llm, task, writer, client, settings
):
    settings.LLM_MAX_RETRIES = 2
    fake_llm.exhausted = Failure(500, "upstream overloaded")

    job = run_job(task, writer)

    assert len(fake_llm.requests) == 3
    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message == "Gave up after 3 attempts: 500: upstream overloaded"
    client.force_login(writer)
    page = client.get(task.get_absolute_url()).content.decode()
    assert "Gave up after 3 attempts: 500: upstream overloaded" in page
    assert reverse("generation-retry", args=[task.pk]) in page

    fake_llm.answer(confident(PARIS))
    assert client.post(reverse("generation-retry", args=[task.pk])).status_code == 302
    retry = task.generation_jobs.exclude(pk=job.pk).get()
    generate_text.apply(args=[retry.pk])
    retry.refresh_from_db()
    assert retry.status == GenerationJob.Status.SUCCEEDED
    assert list(Candidate.objects.filter(task=task).values_list("text", flat=True)) == [PARIS]


def test_a_server_that_never_answers_times_out_and_the_job_fails_instead_of_staying_running(
    fake_llm, task, writer, settings
):
    settings.OPENAI_TIMEOUT_SECONDS = 0.3
    settings.LLM_MAX_RETRIES = 1
    fake_llm.exhausted = Hang()

    job = run_job(task, writer)

    assert job.status == GenerationJob.Status.FAILED
    assert job.error_message == "Gave up after 2 attempts: the LLM server did not answer within 0.3 s"
    task.refresh_from_db()
    assert task.status == Task.Status.FAILED and not task.candidates.exists()


@pytest.mark.parametrize("stall", [False, True], ids=["dropped", "stalled"])
def test_a_stream_that_breaks_off_midway_is_retried_and_only_the_whole_answer_is_kept(
    fake_llm, task, writer, settings, stall
):
    settings.OPENAI_TIMEOUT_SECONDS = 0.5
    fake_llm.answer(confident(PARIS), break_after=3, stall=stall)
    fake_llm.answer(confident(PARIS))

    job = run_job(task, writer)

    assert len(fake_llm.requests) == 2
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert list(Candidate.objects.filter(task=task).values_list("text", flat=True)) == [PARIS]
