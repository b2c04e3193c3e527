"""Who a request belongs to: sessions are database rows, read on every request; with Redis (production) through a
cache there (Django's cached_db engine). Each test runs on both engines. The user is logged in as the log-in form
does (accounts' backend), so with Redis and PostgreSQL their user row is cached too (accounts/backends.py)."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import missing
from tests.factories import expire_session, session_store


@pytest.fixture(autouse=True, params=["db", "cached_db"])
def session_engine(request, settings) -> str:
    if request.param == "cached_db" and not settings.REDIS_URL:
        missing("Redis (set REDIS_URL) for the cached_db session engine")
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    return request.param


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user, backend=settings.ACCOUNT_LOGIN_BACKEND)
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
    expire_session(client.session.session_key)
    response = client.get(reverse("labeling-dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_deactivated_user_is_logged_out_at_their_next_request(annotator):
    client = logged_in(annotator)
    assert dashboard_status(client) == 200  # the user is now cached, where users are
    annotator.is_active = False
    annotator.save()
    assert dashboard_status(client) == 302


def test_a_password_changed_elsewhere_ends_the_other_sessions(annotator):
    client = logged_in(annotator)
    assert dashboard_status(client) == 200  # the user is now cached, where users are
    annotator.set_password("an entirely new passphrase")
    annotator.save()
    assert dashboard_status(client) == 302


def test_a_deleted_user_is_logged_out(annotator):
    client = logged_in(annotator)
    assert dashboard_status(client) == 200  # the user is now cached, where users are
    annotator.delete()
    assert dashboard_status(client) == 302


def statements_of_a_page(client: Client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert dashboard_status(client) == 200
    return [query["sql"] for query in queries.captured_queries]


def user_loads(statements: list[str]) -> int:
    return sum('FROM "accounts_user"' in sql for sql in statements)


def test_a_logged_in_request_reads_its_session_and_user_once_and_nothing_of_the_login_throttle(
    annotator, project, session_engine
):
    statements = statements_of_a_page(logged_in(annotator))
    # The cached engine wrote the session to its cache at login: the database is not asked for it.
    assert sum("django_session" in sql for sql in statements) == (1 if session_engine == "db" else 0)
    assert user_loads(statements) == 1
    assert not [sql for sql in statements if "axes_" in sql]


@pytest.mark.postgres
@pytest.mark.redis
def test_with_redis_and_postgresql_a_persons_next_requests_read_their_user_from_the_cache(annotator, project):
    client = logged_in(annotator)
    assert user_loads(statements_of_a_page(client)) == 1
    assert user_loads(statements_of_a_page(client)) == 0
    assert user_loads(statements_of_a_page(same_session(client))) == 0


@pytest.mark.postgres
@pytest.mark.redis
def test_a_user_saved_in_a_transaction_is_read_again_once_it_commits(
    annotator, project, django_capture_on_commit_callbacks
):
    """A request between the save and its commit may cache the row from before: the commit drops it again."""
    client = logged_in(annotator)
    assert dashboard_status(client) == 200
    with django_capture_on_commit_callbacks(execute=False) as committed:
        annotator.first_name = "Annie"
        annotator.save()
        assert user_loads(statements_of_a_page(client)) == 1  # read while the change is not yet committed
    assert user_loads(statements_of_a_page(client)) == 0
    for callback in committed:
        callback()
    assert user_loads(statements_of_a_page(client)) == 1


@pytest.mark.parametrize("session_engine", ["cached_db"], indirect=True)
def test_a_session_missing_from_the_cache_is_read_from_the_database_once_and_cached_again(annotator, project):
    client = logged_in(annotator)
    caches["sessions"].delete(session_store(client.session.session_key).cache_key)  # evicted, or Redis restarted empty
    assert sum("django_session" in sql for sql in statements_of_a_page(client)) == 1
    assert sum("django_session" in sql for sql in statements_of_a_page(client)) == 0
