"""Who a request belongs to: sessions are database rows (Django's db engine), read on every request."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def same_session(client: Client) -> Client:
    """Another browser (or server process) presenting the same session cookie."""
    other = Client()
    other.cookies = client.cookies
    return other


def dashboard_status(client: Client) -> int:
    return client.get(reverse("labeling-dashboard")).status_code


def test_a_live_session_is_recognised_and_its_user_sees_their_page(annotator, project):
    client = logged_in(annotator)
    response = client.get(reverse("labeling-dashboard"))
    assert response.status_code == 200 and response.context["user"] == annotator
    assert project.name in response.content.decode()


def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(annotator):
    client = logged_in(annotator)
    copy = same_session(client)
    assert dashboard_status(copy) == 200
    client.post(reverse("accounts-logout"))
    assert dashboard_status(copy) == 302
    assert not Session.objects.exists()


def test_an_expired_session_is_not_accepted(annotator):
    client = logged_in(annotator)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("labeling-dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_deactivated_user_is_logged_out_at_their_next_request(annotator):
    client = logged_in(annotator)
    annotator.is_active = False
    annotator.save()
    assert dashboard_status(client) == 302


def test_a_password_changed_elsewhere_ends_the_other_sessions(annotator):
    client = logged_in(annotator)
    annotator.set_password("an entirely new passphrase")
    annotator.save()
    assert dashboard_status(client) == 302


def test_a_deleted_user_is_logged_out(annotator):
    client = logged_in(annotator)
    annotator.delete()
    assert dashboard_status(client) == 302


def test_a_logged_in_request_reads_its_session_and_user_once_and_nothing_of_the_login_throttle(annotator, project):
    client = logged_in(annotator)
    with CaptureQueriesContext(connection) as queries:
        assert dashboard_status(client) == 200
    tables = [query["sql"] for query in queries.captured_queries]
    assert sum("django_session" in sql for sql in tables) == 1
    assert sum('FROM "accounts_user"' in sql for sql in tables) == 1
    assert not [sql for sql in tables if "axes_" in sql]
