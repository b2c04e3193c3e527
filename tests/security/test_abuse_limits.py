"""Abuse limits through HTTP: login throttling, and the per-user caps on image generations and LLM calls.

Every refusal says when the user may try again, and creates nothing. Time passing is simulated by moving
the recorded attempts back, never by waiting.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generation.models import GenerationJob
from labeling.models import Membership, Project, Task

PASSWORD = "correct horse battery staple"


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("accounts-login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def at(moment) -> str:
    return f"at {timezone.localtime(moment):%H:%M}"


@pytest.fixture
def throttle(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    return settings


def test_a_username_is_locked_after_repeated_failures_and_told_when_to_try_again(client, annotator, throttle):
    for _ in range(3):
        assert "didn't match" in log_in(client, "annie", "wrong").content.decode()
    last_failure = AccessAttempt.objects.get().attempt_time

    response = log_in(client, "annie", PASSWORD)  # the right password, too late

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins for this username. Try again in 15 minutes" in page
    assert at(last_failure + timedelta(seconds=900)) in page
    assert not logged_in(client)
    assert AccessAttempt.objects.get().failures_since_start == 3, "a refused attempt is not counted again"


def test_the_lock_holds_for_every_client_and_ignores_the_usernames_case(annotator, throttle):
    for _ in range(3):
        log_in(Client(), "annie", "wrong")
    elsewhere = Client()  # a new session, as another worker process or browser would be
    response = log_in(elsewhere, "ANNIE", PASSWORD, address="10.9.9.9")
    assert response.status_code == 429
    assert not logged_in(elsewhere)


def test_a_login_after_the_window_works_and_forgives_the_failures(client, annotator, throttle):
    for _ in range(3):
        log_in(client, "annie", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(seconds=901))

    response = log_in(client, "annie", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)
    assert not AccessAttempt.objects.filter(username="annie").exists()


def test_failures_below_the_limit_do_not_stop_a_correct_login(client, annotator, throttle):
    for _ in range(2):
        log_in(client, "annie", "wrong")
    assert log_in(client, "annie", PASSWORD).status_code == 302
    assert logged_in(client)


def test_an_address_trying_many_usernames_is_locked_but_others_are_not(client, annotator, throttle):
    for number in range(5):
        log_in(client, f"guess{number}", "wrong", address="10.6.6.6")

    response = log_in(client, "annie", PASSWORD, address="10.6.6.6")
    assert response.status_code == 429
    assert "Too many failed log-ins from your network address. Try again in 15 minutes" in response.content.decode()
    assert not logged_in(client)

    assert log_in(client, "annie", PASSWORD, address="10.0.0.2").status_code == 302


def test_a_login_forgives_its_username_but_not_its_address_the_failures_of_others(client, annotator, throttle):
    for number in range(4):
        log_in(client, f"guess{number}", "wrong", address="10.6.6.6")
    assert log_in(Client(), "annie", PASSWORD, address="10.6.6.6").status_code == 302

    log_in(client, "guess4", "wrong", address="10.6.6.6")

    assert log_in(Client(), "annie", PASSWORD, address="10.6.6.6").status_code == 429


def test_an_admin_can_lift_a_lock_with_the_axes_commands(client, annotator, throttle):
    for _ in range(3):
        log_in(client, "Annie", "wrong")
    assert log_in(client, "annie", PASSWORD).status_code == 429

    call_command("axes_reset_username", "annie")

    assert log_in(client, "annie", PASSWORD).status_code == 302


def test_the_admin_login_leads_to_the_throttled_login_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts-login')}?next=/admin/"
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 405


def rows() -> dict[str, int]:
    return {"tasks": Task.objects.count(), "jobs": GenerationJob.objects.count()}


def jobs_requested(user, task_project, *, kind: str, ages_minutes: list[int], status="succeeded", total=1):
    """Jobs the user asked for that many minutes ago."""
    now = timezone.now()
    for number, minutes in enumerate(ages_minutes):
        task = Task.objects.create(project=task_project, prompt=f"earlier {number}", source="typed", created_by=user)
        job = GenerationJob.objects.create(task=task, kind=kind, status=status, requested_by=user, progress_total=total)
        GenerationJob.objects.filter(pk=job.pk).update(created_at=now - timedelta(minutes=minutes))


def test_the_hourly_image_cap_refuses_with_the_time_of_the_next_free_slot(client, annotator, project, settings):
    settings.GENERATION_MAX_PER_HOUR_PER_USER = 2
    jobs_requested(annotator, project, kind="image", ages_minutes=[50, 20])
    oldest = GenerationJob.objects.order_by("created_at").first().created_at
    before = rows()
    client.force_login(annotator)

    response = client.post(reverse("generation-request", args=[project.slug]), {"prompt": "a heron"})

    assert response.status_code == 429
    page = response.content.decode()
    assert "2 generations in the last hour (the limit is 2); try again in 10 minutes" in page
    assert at(oldest + timedelta(hours=1)) in page
    assert rows() == before


def test_the_queued_image_cap_says_to_come_back_when_one_has_finished(client, annotator, project, settings):
    settings.GENERATION_MAX_QUEUED_PER_USER = 1
    jobs_requested(annotator, project, kind="image", ages_minutes=[3], status="pending")
    queued_at = GenerationJob.objects.get().created_at
    before = rows()
    client.force_login(annotator)

    response = client.post(reverse("generation-request", args=[project.slug]), {"prompt": "a heron"})

    assert response.status_code == 429
    page = response.content.decode()
    assert "try again as soon as one of them has finished" in page
    assert f"the oldest was queued {at(queued_at)}" in page
    assert rows() == before


def test_text_jobs_do_not_count_against_the_image_caps(client, annotator, project, settings):
    settings.GENERATION_MAX_PER_HOUR_PER_USER = 1
    settings.GENERATION_MAX_QUEUED_PER_USER = 1
    jobs_requested(annotator, project, kind="text", ages_minutes=[5], status="pending")
    client.force_login(annotator)
    response = client.post(reverse("generation-request", args=[project.slug]), {"prompt": "a heron"})
    assert response.status_code == 302


@pytest.fixture
def llm_project(annotator, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # configured; jobs are never run in these tests
    settings.LLM_MAX_CALLS_PER_HOUR_PER_USER = 4
    project = Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT, candidates_per_task=2)
    Membership.objects.create(user=annotator, project=project)
    return project


def test_the_hourly_llm_cap_refuses_with_the_time_of_the_next_free_slot(client, annotator, llm_project):
    # 1 + 1 + 2 answers asked in the hour: 2 more fit once the 45- and 30-minute-old requests have left it.
    jobs_requested(annotator, llm_project, kind="text", ages_minutes=[45, 30], total=1)
    jobs_requested(annotator, llm_project, kind="text", ages_minutes=[10], total=2)
    second_oldest = GenerationJob.objects.order_by("created_at")[1].created_at
    task = Task.objects.create(project=llm_project, prompt="Capital of Peru?", source="batch")
    before = rows()
    client.force_login(annotator)

    response = client.post(reverse("generation-text-generate", args=[task.pk]), follow=True)

    page = response.content.decode()
    assert "You have asked for 4 LLM answers in the last hour (the limit is 4); try again in 30 minutes" in page
    assert at(second_oldest + timedelta(hours=1)) in page
    assert rows() == before


def test_the_llm_cap_refusal_shows_in_the_answer_panel_for_htmx(client, annotator, llm_project):
    jobs_requested(annotator, llm_project, kind="text", ages_minutes=[20, 10], total=2)
    task = Task.objects.create(project=llm_project, prompt="Capital of Peru?", source="batch")
    client.force_login(annotator)

    response = client.post(reverse("generation-text-generate", args=[task.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'role="alert">You have asked for 4 LLM answers in the last hour' in response.content.decode()
    assert not task.generation_jobs.exists()


def test_an_llm_request_within_the_cap_is_queued(client, annotator, llm_project):
    jobs_requested(annotator, llm_project, kind="text", ages_minutes=[61, 20], total=2)  # the first has left the hour
    task = Task.objects.create(project=llm_project, prompt="Capital of Peru?", source="batch")
    client.force_login(annotator)
    client.post(reverse("generation-text-generate", args=[task.pk]))
    assert task.generation_jobs.get().status == GenerationJob.Status.PENDING


def test_a_managers_batch_is_not_held_to_the_per_user_llm_cap(client, manager, llm_project):
    Membership.objects.create(user=manager, project=llm_project, role=Membership.Role.MANAGER)
    for number in range(3):
        Task.objects.create(project=llm_project, prompt=f"Question {number}?", source="batch")
    client.force_login(manager)
    response = client.post(reverse("generation-text-generate-batch", args=[llm_project.slug]), follow=True)
    assert "Queued answers for 3 new tasks." in response.content.decode()
    assert GenerationJob.objects.filter(kind="text").count() == 3
