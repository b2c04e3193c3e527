"""The servers behind ``manage.py serve`` (and the browser tests).

- Embedded mode: one uvicorn process serves the ASGI application (corral/asgi.py), HTTP and websockets, beside the
  Celery worker threads that share its in-memory broker and channel layer.
- Production: HTTP through granian's WSGI workers (corral/wsgi.py), each request on one of WEB_THREADS threads with no
  event loop between the socket and Django's handler; websockets through uvicorn in a process of its own, on the
  websocket port the proxy sends ``/ws/`` to. Before, uvicorn served both, and its hand-offs between the event loop
  and the request threads cost each request more CPU than a minimal view (README, Performance).
"""

import asyncio
import gc
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time

import django
import uvicorn
from django.conf import settings
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import Server

from generation.realtime import set_server_loop

logger = logging.getLogger(__name__)


def freeze_loaded_objects() -> None:
    """Leave what is loaded by now (Django, the apps, every view through the URLconf) out of the garbage collector's
    full passes: it lives as long as the process. Before, such a pass walked about 275,000 objects holding the GIL
    for 150 ms every few hundred requests, a stall that every request in flight waited out (README, Performance)."""
    importlib.import_module(settings.ROOT_URLCONF)
    gc.freeze()


def server_target(dotted_path: str) -> str:
    """A setting's "package.module.name" (ASGI_APPLICATION, WSGI_APPLICATION) in the servers' "package.module:name"."""
    module, name = dotted_path.rsplit(".", 1)
    return f"{module}:{name}"


def build_server(*, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    # uvicorn logs through Django's LOGGING (LOG_FORMAT) and leaves the request lines to corral.logs.
    config = uvicorn.Config(
        server_target(settings.ASGI_APPLICATION),
        host=host,
        port=port,
        lifespan="off",
        forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
        log_level=log_level,
        log_config=None,
        access_log=False,
    )
    return uvicorn.Server(config)


def serve(server: uvicorn.Server) -> None:
    """Run until ``server.should_exit``; while it runs, live updates from worker threads reach its loop."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    set_server_loop(loop)
    try:
        loop.run_until_complete(server.serve())
    finally:
        set_server_loop(None)
        loop.close()


def _websocket_server(host: str, port: int, log_level: str) -> None:
    """The websocket process (started with "spawn", so it sets Django up itself)."""
    django.setup()
    serve(build_server(host=host, port=port, log_level=log_level))


def _wait_until_listening(host: str, port: int, process: multiprocessing.Process, timeout: float = 60) -> None:
    """Until the websocket server accepts connections: HTTP, and so the health check, answers only once both do."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"the websocket server exited with {process.exitcode}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the websocket server did not listen on {host}:{port} within {timeout:.0f} s")


def serve_production(*, host: str, port: int, websocket_port: int, workers: int, log_level: str) -> None:
    """HTTP on ``port`` (granian, ``workers`` processes), websockets on ``websocket_port`` (uvicorn), until stopped.

    granian handles SIGINT / SIGTERM and stops its workers; the websocket process is stopped with it. Should the
    websocket process end by itself, HTTP is stopped too and RuntimeError raised, so that whatever supervises
    ``serve`` starts both again rather than keep serving pages whose live updates cannot connect.
    """
    websockets = multiprocessing.get_context("spawn").Process(
        target=_websocket_server, args=(host, websocket_port, log_level), name="corral-websockets", daemon=True
    )
    websockets.start()
    stopping = threading.Event()
    lost = threading.Event()

    def stop_when_websockets_end() -> None:
        websockets.join()
        if not stopping.is_set():
            lost.set()
            logger.error("the websocket server exited with %s: stopping HTTP too", websockets.exitcode)
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        _wait_until_listening(host, websocket_port, websockets)
        threading.Thread(target=stop_when_websockets_end, name="corral-websockets-watch", daemon=True).start()
        Server(
            server_target(settings.WSGI_APPLICATION),
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=settings.WEB_THREADS,
            websockets=False,
            log_level=LogLevels(log_level),
        ).serve()
    finally:
        stopping.set()
        websockets.terminate()
        websockets.join(timeout=10)
    if lost.is_set():
        raise RuntimeError(f"the websocket server exited with {websockets.exitcode}; HTTP was stopped with it")
