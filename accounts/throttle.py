"""Login throttling: too many failed log-ins for one username, or from one address, lock it for a while.

Failures are rows in the database, so every worker process sees the same count, and the throttle keeps
working when Redis is down.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import LoginFailure


@dataclass(frozen=True)
class LoginLock:
    """Why log-ins are refused for now, and when they are allowed again."""

    reason: str
    retry_at: datetime

    def message(self, *, now: datetime) -> str:
        minutes = max(1, math.ceil((self.retry_at - now).total_seconds() / 60))
        return (
            f"Too many failed log-ins {self.reason}. Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
            f"at {timezone.localtime(self.retry_at):%H:%M}."
        )


def _normalized(username: str) -> str:
    # NUL cannot be stored in PostgreSQL; dropping it still counts the attempt against the same name.
    return username.replace("\x00", "").strip().casefold()[:150]


def _retry_at(failures: QuerySet[LoginFailure], *, limit: int, window: timedelta) -> datetime | None:
    """When enough of the oldest failures leave the window to get back under ``limit``, or None if under it."""
    times = list(failures.order_by("created_at").values_list("created_at", flat=True))
    if len(times) < limit:
        return None
    return times[len(times) - limit] + window


def _lock_before(attempt: LoginFailure) -> LoginLock | None:
    """The lock that the attempts recorded before ``attempt`` put on its username or address, if any."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    earlier = LoginFailure.objects.filter(created_at__gt=timezone.now() - window, pk__lt=attempt.pk)
    locks = []
    if attempt.username:
        user_retry = _retry_at(
            earlier.filter(username=attempt.username), limit=settings.LOGIN_FAILURE_LIMIT, window=window
        )
        if user_retry:
            locks.append(LoginLock("for this username", user_retry))
    if attempt.ip_address:
        ip_retry = _retry_at(
            earlier.filter(ip_address=attempt.ip_address), limit=settings.LOGIN_FAILURE_LIMIT_PER_IP, window=window
        )
        if ip_retry:
            locks.append(LoginLock("from your network address", ip_retry))
    return max(locks, key=lambda lock: lock.retry_at, default=None)


def login_attempt_start(*, username: str, ip_address: str | None) -> LoginFailure | LoginLock:
    """Record a log-in attempt before its password is checked, or refuse it with the lock that applies.

    The row counts as a failure unless ``login_failures_clear`` removes it after a success. Recording
    first means a burst of parallel guesses counts each other, instead of all passing the check while
    the first password is still being hashed. Rows older than the window are dropped on the way.
    """
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    LoginFailure.objects.filter(created_at__lte=timezone.now() - window).delete()
    attempt = LoginFailure.objects.create(username=_normalized(username), ip_address=ip_address)
    lock = _lock_before(attempt)
    if lock is not None:
        attempt.delete()  # a refused attempt checked no password: it does not lengthen the lock
        return lock
    return attempt


def login_failures_clear(*, username: str) -> None:
    """A successful log-in forgives the username's failures, its own attempt included (its address keeps
    the count of other usernames)."""
    LoginFailure.objects.filter(username=_normalized(username)).delete()
