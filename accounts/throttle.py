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


def login_lock_for(*, username: str, ip_address: str | None) -> LoginLock | None:
    """The lock on this username or address, or None when a log-in may be tried."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginFailure.objects.filter(created_at__gt=timezone.now() - window)
    locks = []
    user_retry = _retry_at(
        recent.filter(username=_normalized(username)), limit=settings.LOGIN_FAILURE_LIMIT, window=window
    )
    if username.strip() and user_retry:
        locks.append(LoginLock("for this username", user_retry))
    if ip_address:
        ip_retry = _retry_at(
            recent.filter(ip_address=ip_address), limit=settings.LOGIN_FAILURE_LIMIT_PER_IP, window=window
        )
        if ip_retry:
            locks.append(LoginLock("from your network address", ip_retry))
    return max(locks, key=lambda lock: lock.retry_at, default=None)


def login_failure_record(*, username: str, ip_address: str | None) -> None:
    """Count a failed log-in; rows older than the window are dropped on the way."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    LoginFailure.objects.filter(created_at__lte=timezone.now() - window).delete()
    LoginFailure.objects.create(username=_normalized(username), ip_address=ip_address)


def login_failures_clear(*, username: str) -> None:
    """A successful log-in forgives the username's failures (its address keeps its count)."""
    LoginFailure.objects.filter(username=_normalized(username)).delete()
