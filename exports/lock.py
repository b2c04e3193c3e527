"""The export lock: one export at a time, across processes and hosts, released when its holder dies."""

import contextlib
import os
import socket
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from exports.models import ExportLock

# Arbitrary constant naming Corral's export in pg_advisory_lock's key space.
ADVISORY_LOCK_KEY = 726_607_006


@contextlib.contextmanager
def export_lock() -> Iterator[bool]:
    """Yield True while this process holds the export lock, False when another export holds it.

    PostgreSQL: a session advisory lock, released by the server when the holder's connection dies.
    SQLite: a lease on the ExportLock row naming host and pid; a holder that no longer runs loses it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return

    holder = f"{socket.gethostname()}:{os.getpid()}"
    with transaction.atomic():
        lock, _ = ExportLock.objects.select_for_update().get_or_create(pk=1)
        acquired = not lock.holder or _holder_is_gone(lock.holder)
        if acquired:
            lock.holder, lock.acquired_at = holder, timezone.now()
            lock.save(update_fields=["holder", "acquired_at"])
    try:
        yield acquired
    finally:
        if acquired:
            ExportLock.objects.filter(pk=1, holder=holder).update(holder="", acquired_at=None)


def _holder_is_gone(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False
