"""Every vote goes through Django's own stack: each kind of refusal answers as Django does and changes nothing,
and whatever changes between two votes of one session is seen at the next one. Runs on SQLite and PostgreSQL."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from labeling.models import Membership, Task, Vote
from tests.factories import expire_session, make_ready_task, make_user

WRONG_TOKEN = "x" * 32  # the right form and length, but not the cookie's secret


class Browser:
    """A logged-in browser as htmx drives it: session and CSRF cookies, the CSRF header, and its own Origin."""

    def __init__(self, user, task: Task):
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)
        self.client.get(reverse("labeling-dashboard"))  # sets the CSRF cookie, as every page does
        self.csrf_token = self.client.cookies["csrftoken"].value
        self.session_key = self.client.cookies[settings.SESSION_COOKIE_NAME].value

    def vote(self, candidate, value: str, *, csrf: str | None = None, origin: str = "http://testserver"):
        headers = {"HTTP_HX_REQUEST": "true", "HTTP_ORIGIN": origin}
        if csrf != "":
            headers["HTTP_X_CSRFTOKEN"] = csrf or self.csrf_token
        return self.client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, **headers)


def votes_of(user) -> list[tuple[int, int]]:
    return sorted(Vote.objects.filter(user=user).values_list("candidate__index", "value"))


def test_a_vote_through_the_browsers_headers_is_recorded(annotator, project):
    task = make_ready_task(project)
    response = Browser(annotator, task).vote(task.candidates.get(index=2), "down")
    assert response.status_code == 200
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in response.content.decode()
    assert votes_of(annotator) == [(2, Vote.Value.DOWN)]


def _refused_requests():
    """(how to prepare and send it, the status and words of Django's answer); each must change nothing."""

    def as_outsider(task, annotator):
        return Browser(make_user("outsider"), task).vote(task.candidates.first(), "up")

    def without_csrf_header(task, annotator):
        return Browser(annotator, task).vote(task.candidates.first(), "up", csrf="")

    def with_a_wrong_csrf_token(task, annotator):
        return Browser(annotator, task).vote(task.candidates.first(), "up", csrf=WRONG_TOKEN)

    def from_a_foreign_origin(task, annotator):
        return Browser(annotator, task).vote(task.candidates.first(), "up", origin="https://evil.example")

    def with_an_unknown_value(task, annotator):
        return Browser(annotator, task).vote(task.candidates.first(), "sideways")

    def on_a_failed_task(task, annotator):
        browser = Browser(annotator, task)
        Task.objects.filter(pk=task.pk).update(status=Task.Status.FAILED)
        return browser.vote(task.candidates.first(), "up")

    def on_their_own_typed_prompt(task, annotator):
        Task.objects.filter(pk=task.pk).update(source=Task.Source.TYPED, created_by=annotator)
        return Browser(annotator, task).vote(task.candidates.first(), "up")

    def with_an_expired_session(task, annotator):
        browser = Browser(annotator, task)
        expire_session(browser.session_key)
        return browser.vote(task.candidates.first(), "up")

    refused = [
        (as_outsider, 404, "Not Found"),
        (without_csrf_header, 403, "CSRF"),
        (with_a_wrong_csrf_token, 403, "CSRF"),
        (from_a_foreign_origin, 403, "CSRF"),
        (with_an_unknown_value, 400, "A vote must be one of: up, down, withdraw (got 'sideways')"),
        (on_a_failed_task, 409, "not taking feedback: it is failed"),
        (on_their_own_typed_prompt, 403, "your own prompt"),
        (with_an_expired_session, 302, ""),
    ]
    return [pytest.param(send, status, words, id=send.__name__) for send, status, words in refused]


@pytest.mark.parametrize(("send", "status", "words"), _refused_requests())
def test_a_refused_vote_answers_as_django_does_and_changes_nothing(annotator, project, send, status, words):
    task = make_ready_task(project)
    updated_at = Task.objects.get(pk=task.pk).updated_at
    response = send(task, annotator)
    assert response.status_code == status
    assert words in response.content.decode()
    if status == 302:
        assert response["Location"].startswith(reverse("accounts-login"))
    assert not Vote.objects.exists()
    assert Task.objects.get(pk=task.pk).updated_at == updated_at


def _changes_between_two_votes():
    """What can change between two votes of one session; the second vote must see it."""

    def log_out(user, browser, project):
        """In another tab: the same session cookie logs out."""
        other_tab = Client()
        other_tab.cookies[settings.SESSION_COOKIE_NAME] = browser.session_key
        assert other_tab.post(reverse("accounts-logout")).status_code == 302

    def deactivate(user, browser, project):
        user.is_active = False
        user.save()

    def change_password(user, browser, project):
        user.set_password("a new password, set elsewhere")
        user.save()

    def remove_membership(user, browser, project):
        Membership.objects.filter(user=user, project=project).delete()

    def revoke_superuser(user, browser, project):
        user.is_superuser = False
        user.save()

    changes = [
        (log_out, 302),
        (deactivate, 302),
        (change_password, 302),
        (remove_membership, 404),
        (revoke_superuser, 404),
    ]
    return [pytest.param(change, status, id=change.__name__) for change, status in changes]


@pytest.mark.parametrize(("change", "status"), _changes_between_two_votes())
def test_what_changes_between_two_votes_of_a_session_is_seen_at_the_second(project, change, status):
    user = make_user("returning")
    if change.__name__ == "revoke_superuser":
        user.is_superuser = True
        user.save()
    else:
        Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
    task = make_ready_task(project, candidates=2)
    first, second = task.candidates.order_by("index")
    browser = Browser(user, task)
    assert browser.vote(first, "up").status_code == 200
    change(user, browser, project)
    assert browser.vote(second, "up").status_code == status
    assert votes_of(user) == [(0, Vote.Value.UP)]


@pytest.mark.parametrize("role", [Membership.Role.ANNOTATOR, Membership.Role.REVIEWER, Membership.Role.MANAGER])
def test_every_role_of_a_project_may_vote(project, role):
    user = make_user(f"member-{role}")
    Membership.objects.create(user=user, project=project, role=role)
    task = make_ready_task(project)
    assert Browser(user, task).vote(task.candidates.first(), "up").status_code == 200
    assert votes_of(user) == [(0, Vote.Value.UP)]


def test_a_superuser_votes_in_a_project_they_are_not_a_member_of(staff, project):
    task = make_ready_task(project)
    assert Browser(staff, task).vote(task.candidates.first(), "down").status_code == 200
    assert votes_of(staff) == [(0, Vote.Value.DOWN)]


def test_withdrawing_on_a_task_that_stopped_taking_feedback_is_refused_and_keeps_the_vote(annotator, project):
    task = make_ready_task(project)
    browser = Browser(annotator, task)
    candidate = task.candidates.first()
    assert browser.vote(candidate, "up").status_code == 200
    Task.objects.filter(pk=task.pk).update(status=Task.Status.FAILED)
    response = browser.vote(candidate, "withdraw")
    assert response.status_code == 409
    assert votes_of(annotator) == [(0, Vote.Value.UP)]
