"""Logged-in users read from Redis instead of the database on each request.

Every request of a logged-in person loads their user row (django.contrib.auth's ``get_user``, then the session's
password hash is checked against it as always). With Redis configured (the ``users`` cache, see settings) and
PostgreSQL, the backends here keep the row for ``CACHES["users"]["TIMEOUT"]`` seconds: on 2 cores that was about a
tenth of a vote's cost (README, Performance). A user saved or deleted through the ORM (the admin, a password
change, ``manage.py changepassword``, a log-in's ``last_login``) is dropped from the cache at once and again when
the change commits, so a concurrent request cannot put back the row from before it. What bypasses the ORM's
signals (``QuerySet.update``, SQL by hand, a restore into the same database) reaches logged-in requests within the
timeout. Keys carry the database's identity, so a database dropped and created again (tests, benches) never
meets the users of the one before under the same ids. Redis unreachable: a miss, read from the database.
"""

import functools

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

USER_CACHE_ALIAS = "users"


@functools.cache
def _database_identity(name: str) -> int:
    """The current database's object id: a database created again under the same name gets another."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _cache_key(user_id) -> str | None:
    """The user's key, or None where users are not cached (no Redis, or not PostgreSQL)."""
    if USER_CACHE_ALIAS not in settings.CACHES or connection.vendor != "postgresql":
        return None
    return f"{_database_identity(connection.settings_dict['NAME'])}:{user_id}"


class CachedUserMixin:
    """``get_user`` from the cache when it holds the user, else from the backend's own ``get_user``, then kept.
    Inactive users are refused either way (``user_can_authenticate``)."""

    def get_user(self, user_id):
        key = _cache_key(user_id)
        if key is None:
            user = super().get_user(user_id)
        else:
            cache = caches[USER_CACHE_ALIAS]
            user = cache.get(key)
            if user is None:
                user = super().get_user(user_id)
                if user is not None:
                    cache.set(key, user)
        return user if user is not None and self.user_can_authenticate(user) else None


class CachedModelBackend(CachedUserMixin, ModelBackend):
    """Django's ModelBackend (username and password), its users cached."""


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-user-cache-saved")
@receiver(post_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-user-cache-deleted")
def forget_cached_user(sender, instance, **kwargs) -> None:
    key = _cache_key(instance.pk)
    if key is None:
        return
    cache = caches[USER_CACHE_ALIAS]
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
