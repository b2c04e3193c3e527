"""API tokens: made, checked and revoked here only (the API's authentication class asks ``api_token_check``)."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken, User

TOKEN_TAG = "corral_"  # noqa: S105 (the visible start of every token, not a secret)
PREFIX_LENGTH = 8  # hex digits after the tag
# Refresh ``last_used_at`` at most this often, so reading pages of results does not write a row per request.
LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenRefused(Exception):
    """The token cannot be used; the message says why (unknown, malformed, revoked, expired)."""


class ApiTokenNameTaken(ValueError):
    pass


def _utc_text(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, scope: str = ApiToken.Scope.READ, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token and its secret text, which exists nowhere else once this returns."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    raw = f"{TOKEN_TAG}{prefix}_{secrets.token_urlsafe(32)}"
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user, name=name, prefix=prefix, digest=_digest(raw), scope=scope, expires_at=expires_at
            )
    except IntegrityError:
        raise ApiTokenNameTaken(f"You already have a token named {name!r}; choose another name.") from None
    return token, raw


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke these tokens (each once: a revoked token keeps its first revocation time); how many were live."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_check(*, raw: str) -> ApiToken:
    """The live token that ``raw`` is, with its user; ApiTokenRefused saying exactly why it is not usable."""
    if not raw.startswith(TOKEN_TAG) or raw[len(TOKEN_TAG) + PREFIX_LENGTH : len(TOKEN_TAG) + PREFIX_LENGTH + 1] != "_":
        raise ApiTokenRefused("Malformed API token: it should read corral_<8 characters>_<secret>.")
    prefix = raw[len(TOKEN_TAG) : len(TOKEN_TAG) + PREFIX_LENGTH]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # The digest is compared in constant time, and an unknown prefix costs a digest too.
    if not hmac.compare_digest(token.digest if token else _digest(""), _digest(raw)) or token is None:
        raise ApiTokenRefused("Unknown API token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenRefused(f"This API token ({token.name}) was revoked on {_utc_text(token.revoked_at)}.")
    if token.expires_at is not None and token.expires_at <= now:
        raise ApiTokenRefused(f"This API token ({token.name}) expired on {_utc_text(token.expires_at)}.")
    if not token.user.is_active:
        raise ApiTokenRefused("The account this API token belongs to is deactivated.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
