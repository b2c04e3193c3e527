import itertools

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import api_token_create


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no requests counted against its tokens. In Redis (CI) every token is new, since
    PostgreSQL never hands an id out twice, and clearing the cache would flush the whole Redis database."""
    cache = caches["api-throttle"]
    if isinstance(cache, LocMemCache):
        cache.clear()


def token_for(user, scope: str = ApiToken.Scope.READ_WRITE, name: str = "pipeline", **fields) -> str:
    return api_token_create(user=user, name=name, scope=scope, **fields)[1]


_names = itertools.count(1)


def api(user=None, *, scope: str = ApiToken.Scope.READ_WRITE) -> APIClient:
    """A client that sends a new token of ``user`` (none for an anonymous caller)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scope, name=f'{scope} token {next(_names)}')}")
    return client
