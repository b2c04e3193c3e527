"""The vote fast path (labeling/fast_vote.py) through the real server: it answers exactly what Django would accept,
as Django would answer it, and hands every other request to Django, which refuses it with nothing changed."""

import logging
import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling.models import Membership, Task, Vote
from tests.conftest import make_user
from tests.labeling.conftest import make_ready_task

pytestmark = pytest.mark.postgres

SECURITY_HEADERS = ["content-type", "x-frame-options", "x-content-type-options", "referrer-policy", "vary"]


@pytest.fixture
def server(asgi_server, caplog):
    from corral.asgi import http_application
    from labeling.fast_vote import FastVoteApplication

    assert isinstance(http_application, FastVoteApplication), "the fast path is on wherever PostgreSQL is"
    caplog.set_level(logging.INFO, logger="corral.request")
    return asgi_server


class Browser:
    """A logged-in browser's htmx requests: its session and CSRF cookies, the CSRF header and its Origin."""

    def __init__(self, base_url: str, user):
        client = Client()
        client.force_login(user)
        self.session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.csrf_secret = _get_new_csrf_string()
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False)

    def vote(self, candidate, value: str, *, csrf: str | None = None, origin: str | None = None, htmx: bool = True):
        headers = {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}; csrftoken={self.csrf_secret}",
            "Origin": self.base_url if origin is None else origin,
            "X-CSRFToken": self.csrf_secret if csrf is None else csrf,
        }
        if htmx:
            headers["HX-Request"] = "true"
        return self.http.post(f"/candidates/{candidate.uid}/vote", data={"value": value}, headers=headers)


def answered_by_fast_path(caplog, candidate) -> list[bool]:
    """For each logged request to the candidate's vote URL, whether the fast path answered it."""
    path = reverse("labeling-vote", args=[candidate.uid])
    return [record.event["fast_path"] for record in caplog.records if getattr(record, "event", {}).get("path") == path]


def status_soon(task, *, seconds: float = 5.0) -> str:
    """The task's status once it is complete, or after ``seconds``: the fast path completes a task a moment after
    the answer to the vote that filled it (with the process's next statement)."""
    deadline = time.monotonic() + seconds
    while True:
        task.refresh_from_db()
        if task.status == Task.Status.COMPLETE or time.monotonic() > deadline:
            return task.status
        time.sleep(0.02)


def votes_of(user) -> list[tuple[int, int]]:
    return sorted(Vote.objects.filter(user=user).values_list("candidate__index", "value"))


def test_a_vote_is_answered_on_the_fast_path_with_the_response_django_gives(server, caplog, annotator, project):
    candidate = make_ready_task(project).candidates.get(index=2)
    fast = Browser(server, annotator).vote(candidate, "down")
    assert fast.status_code == 200
    assert answered_by_fast_path(caplog, candidate) == [True]
    assert votes_of(annotator) == [(2, Vote.Value.DOWN)]

    # The same vote again, through Django's own stack (the test client never reaches the fast path).
    django = Client()
    django.force_login(annotator)
    slow = django.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "down"}, HTTP_HX_REQUEST="true")
    assert slow.status_code == 200
    assert fast.text == slow.content.decode()
    assert {name: fast.headers.get(name) for name in SECURITY_HEADERS} == {
        name: slow.headers.get(name) for name in SECURITY_HEADERS
    }
    assert fast.headers["x-request-id"]
    assert votes_of(annotator) == [(2, Vote.Value.DOWN)]


def test_changing_a_vote_on_the_fast_path_rewrites_the_same_row(server, caplog, annotator, project):
    candidate = make_ready_task(project).candidates.get(index=0)
    browser = Browser(server, annotator)
    assert browser.vote(candidate, "up").status_code == 200
    first = Vote.objects.get()
    response = browser.vote(candidate, "down")
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in response.text
    changed = Vote.objects.get()
    assert (changed.pk, changed.value, changed.created_at) == (first.pk, Vote.Value.DOWN, first.created_at)
    assert answered_by_fast_path(caplog, candidate) == [True, True]


def test_the_vote_that_fills_the_last_slot_completes_the_task(server, caplog, project):
    project.votes_per_candidate = 2
    project.save()
    task = make_ready_task(project, candidates=2)
    first, second = (make_user(name) for name in ("ann", "bea"))
    for user in (first, second):
        Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
    browsers = [Browser(server, first), Browser(server, second)]
    candidates = list(task.candidates.order_by("index"))
    for browser, candidate in [(b, c) for b in browsers for c in candidates][:-1]:
        assert browser.vote(candidate, "up").status_code == 200
        assert status_soon(task, seconds=0.3) == Task.Status.READY
    assert browsers[1].vote(candidates[1], "down").status_code == 200
    assert status_soon(task) == Task.Status.COMPLETE
    assert all(answered_by_fast_path(caplog, candidates[0]) + answered_by_fast_path(caplog, candidates[1]))


def test_withdrawals_and_plain_form_votes_go_to_django(server, caplog, annotator, project):
    candidate = make_ready_task(project).candidates.get(index=1)
    browser = Browser(server, annotator)
    plain = browser.vote(candidate, "up", htmx=False)
    assert plain.status_code == 302 and plain.headers["location"].endswith(f"#candidate-{candidate.uid}")
    withdrawn = browser.vote(candidate, "withdraw")
    assert withdrawn.status_code == 200 and 'aria-pressed="true"' not in withdrawn.text
    assert answered_by_fast_path(caplog, candidate) == [False, False]
    assert votes_of(annotator) == [(1, Vote.Value.WITHDRAWN)]


def _refused_requests():
    """(name, how to prepare and send it, the status Django answers with); each must change nothing."""

    def as_outsider(browser_for, task, annotator, project):
        return browser_for(make_user("outsider")).vote(task.candidates.first(), "up")

    def without_csrf_header(browser_for, task, annotator, project):
        return browser_for(annotator).vote(task.candidates.first(), "up", csrf="")

    def with_a_wrong_csrf_token(browser_for, task, annotator, project):
        return browser_for(annotator).vote(task.candidates.first(), "up", csrf=_get_new_csrf_string())

    def from_a_foreign_origin(browser_for, task, annotator, project):
        return browser_for(annotator).vote(task.candidates.first(), "up", origin="https://evil.example")

    def with_an_unknown_value(browser_for, task, annotator, project):
        return browser_for(annotator).vote(task.candidates.first(), "sideways")

    def on_a_failed_task(browser_for, task, annotator, project):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.FAILED)
        return browser_for(annotator).vote(task.candidates.first(), "up")

    def on_their_own_typed_prompt(browser_for, task, annotator, project):
        Task.objects.filter(pk=task.pk).update(source=Task.Source.TYPED, created_by=annotator)
        return browser_for(annotator).vote(task.candidates.first(), "up")

    def with_an_expired_session(browser_for, task, annotator, project):
        browser = browser_for(annotator)
        Session.objects.filter(pk=browser.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
        return browser.vote(task.candidates.first(), "up")

    refused = [
        (as_outsider, 404),
        (without_csrf_header, 403),
        (with_a_wrong_csrf_token, 403),
        (from_a_foreign_origin, 403),
        (with_an_unknown_value, 400),
        (on_a_failed_task, 409),
        (on_their_own_typed_prompt, 403),
        (with_an_expired_session, 302),
    ]
    return [pytest.param(send, status, id=send.__name__) for send, status in refused]


@pytest.mark.parametrize(("send", "status"), _refused_requests())
def test_a_request_django_refuses_is_handed_to_django_and_changes_nothing(
    server, caplog, annotator, project, send, status
):
    project.forbid_self_voting = True
    project.save()
    task = make_ready_task(project)
    response = send(lambda user: Browser(server, user), task, annotator, project)
    assert response.status_code == status
    assert answered_by_fast_path(caplog, task.candidates.first()) == [False]
    assert not Vote.objects.exists()
    assert Task.objects.get(pk=task.pk).updated_at == task.updated_at


def _changes_after_a_first_vote():
    """What can change between two votes of one session; after each, the fast path must not reuse what it knew."""

    def log_out(user, browser, project):
        Session.objects.filter(pk=browser.session_key).delete()

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


@pytest.mark.parametrize(("change", "status"), _changes_after_a_first_vote())
def test_a_session_the_fast_path_knows_is_checked_again_at_every_vote(server, caplog, project, change, status):
    user = make_user("remembered")
    if change.__name__ == "revoke_superuser":
        user.is_superuser = True
        user.save()
    else:
        Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
    first, second = make_ready_task(project, candidates=2).candidates.order_by("index")
    browser = Browser(server, user)
    assert browser.vote(first, "up").status_code == 200
    change(user, browser, project)
    assert browser.vote(second, "up").status_code == status
    assert answered_by_fast_path(caplog, first) == [True]
    assert answered_by_fast_path(caplog, second) == [False]
    assert votes_of(user) == [(0, Vote.Value.UP)]


def test_concurrent_fast_votes_store_one_row_per_annotator_and_candidate_and_complete_the_task(server, project):
    project.votes_per_candidate = 3
    project.save()
    task = make_ready_task(project)
    users = [make_user(f"annotator{number}") for number in range(6)]
    for user in users:
        Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
    browsers = [Browser(server, user) for user in users]
    candidates = list(task.candidates.all())
    statuses: list[int] = []
    start = threading.Barrier(len(browsers))

    def annotate(browser: Browser) -> None:
        start.wait()
        for round_number in range(3):
            for candidate in candidates:
                statuses.append(browser.vote(candidate, "up" if round_number % 2 == 0 else "down").status_code)

    threads = [threading.Thread(target=annotate, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * (len(browsers) * 3 * len(candidates))
    assert Vote.objects.count() == len(users) * len(candidates)
    assert set(Vote.objects.values_list("value", flat=True)) == {Vote.Value.UP}
    assert status_soon(task) == Task.Status.COMPLETE


def test_a_burst_of_clicks_on_one_candidate_leaves_one_row_with_one_of_the_values(server, annotator, project):
    candidate = make_ready_task(project).candidates.first()
    browser = Browser(server, annotator)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def click(value: str) -> None:
        start.wait()
        statuses.append(browser.vote(candidate, value).status_code)

    threads = [threading.Thread(target=click, args=("up" if n % 2 else "down",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 8
    assert [vote.value for vote in Vote.objects.filter(user=annotator)] in ([Vote.Value.UP], [Vote.Value.DOWN])
