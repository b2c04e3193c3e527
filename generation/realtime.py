"""Sending live updates to channel-layer groups from sync code (tasks, services).

Live updates are a convenience: a broken channel layer must never fail the
work that reports through it, so ``group_send`` logs and returns False.

In the embedded mode the in-memory layer lives in the web server's event
loop, and workers run in threads of the same process, so events are handed
to that loop rather than to a loop of the worker thread's own.
"""

import asyncio
import logging
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
_server_loop: asyncio.AbstractEventLoop | None = None
_GROUP_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def set_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _server_loop
    _server_loop = loop


def group_name(*parts: object) -> str:
    """A valid channel-layer group name (letters, digits, '-', '_', '.'; < 100 chars)."""
    return _GROUP_UNSAFE.sub("_", ".".join(str(part) for part in parts))[:99]


def group_send(group: str, event: dict) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        loop = _server_loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop).result(timeout=5)
        else:
            async_to_sync(layer.group_send)(group, event)
    except Exception:
        logger.warning("live update to %s failed; the page falls back to polling", group, exc_info=True)
        return False
    return True
