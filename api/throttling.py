"""Requests per minute, counted per token (and per person for session use) in the ``api-throttle`` cache."""

import logging

from django.conf import settings
from django.core.cache import caches
from redis import RedisError
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken

logger = logging.getLogger(__name__)


class PerTokenThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        self.cache = caches["api-throttle"]
        super().__init__()

    def get_rate(self) -> str:
        # Read per request, so a changed setting applies at once.
        return f"{settings.API_REQUESTS_PER_MINUTE}/minute"

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            # A Redis outage must not take the API down with it: requests go uncounted until it is back.
            logger.warning("API rate limit not applied: its cache is unavailable", exc_info=True)
            return True
