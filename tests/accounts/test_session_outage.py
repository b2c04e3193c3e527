"""Production's session and user caches (their settings, SESSION_REDIS_CACHE and USER_REDIS_CACHE) point at a
Redis that is down: every read is a miss and every write is skipped, so sessions still log in, work and log out,
and users are read, from their database rows alone."""

from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.accounts.test_sessions import dashboard_status, logged_in, same_session
from tests.conftest import free_port


def test_with_redis_unreachable_sessions_still_log_in_work_and_log_out(annotator, project, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {**settings.SESSION_REDIS_CACHE, "LOCATION": unreachable},
        "users": {**settings.USER_REDIS_CACHE, "LOCATION": unreachable},
    }
    settings.SESSION_CACHE_ALIAS = "sessions"
    client = logged_in(annotator)
    copy = same_session(client)
    assert dashboard_status(copy) == 200 and dashboard_status(client) == 200
    client.post(reverse("accounts-logout"))
    assert dashboard_status(copy) == 302
    assert not Session.objects.exists()
