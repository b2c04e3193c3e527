"""Login throttling through django-axes: too many failed log-ins for one username, or from one address, lock it.

Axes keeps the failures in its database table (AccessAttempt), so every server process counts the same attempts and
nothing depends on Redis. This module holds what the AXES_* settings point at: how a username and an address are
read, how long a failure counts, and a handler that gives each lockout parameter its own limit.
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

# For each of AXES_LOCKOUT_PARAMETERS: the setting that holds its limit, and the words that name its lock.
LIMITS = {
    "username": ("LOGIN_FAILURE_LIMIT", "for this username"),
    "ip_address": ("LOGIN_FAILURE_LIMIT_PER_IP", "from your network address"),
}


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


def normalized(username: str) -> str:
    # NUL cannot be stored in PostgreSQL; dropping it still counts the attempt against the same name.
    return username.replace("\x00", "").strip().casefold()[:150]


def username_of(request, credentials) -> str:
    """AXES_USERNAME_CALLABLE: the username tried, so that its case or spaces around it do not make it another."""
    username = (credentials or {}).get("username") or request.POST.get("username") or ""
    return normalized(str(username))


def client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's IP address, or None (a unix socket has none).

    uvicorn puts it in REMOTE_ADDR, from X-Forwarded-For only when the proxy is trusted (FORWARDED_ALLOW_IPS): a proxy
    in front does not make every visitor share one address, and a client cannot pick its own by sending the header.
    """
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def failure_window(request=None) -> timedelta:
    """AXES_COOLOFF_TIME: how long a failure counts."""
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _retry_at(attempts: QuerySet[AccessAttempt], *, limit: int, window: timedelta) -> datetime | None:
    """When enough of the oldest failures have left the window to be under ``limit`` again, or None if under it.

    Axes keeps one row per username, address and browser: its failures count until its last one leaves the window.
    """
    counted = 0
    for failures, last_at in attempts.order_by("-attempt_time").values_list("failures_since_start", "attempt_time"):
        counted += failures
        if counted >= limit:
            return last_at + window
    return None


def login_lock(request, credentials=None) -> LoginLock | None:
    """The lock that the failures in the window put on the request's username or address, if any (the latest)."""
    window = failure_window(request)
    recent = AccessAttempt.objects.filter(attempt_time__gt=timezone.now() - window)
    client = {"username": get_client_username(request, credentials), "ip_address": client_address(request)}
    locks = []
    for parameter in settings.AXES_LOCKOUT_PARAMETERS:
        limit_setting, reason = LIMITS[parameter]
        if client[parameter]:
            attempts = recent.filter(**{parameter: client[parameter]})
            retry_at = _retry_at(attempts, limit=getattr(settings, limit_setting), window=window)
            if retry_at is not None:
                locks.append(LoginLock(reason, retry_at))
    return max(locks, key=lambda lock: lock.retry_at, default=None)


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, with a limit of its own for a username and for an address (axes has one for all)."""

    def is_locked(self, request, credentials=None) -> bool:
        return login_lock(request, credentials) is not None

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        # Forgive the username only: AXES_RESET_ON_SUCCESS would also forgive its address other usernames' failures.
        self.reset_attempts(username=normalized(user.get_username()))
