"""Running the ASGI app under uvicorn, shared by ``manage.py serve`` and the browser tests."""

import asyncio

import uvicorn
from django.conf import settings

from generation.realtime import set_server_loop


def uvicorn_logging(log_level: str) -> dict:
    """uvicorn logs through Django's LOGGING (LOG_FORMAT) and leaves the request lines to corral.logs."""
    return {"log_level": log_level, "log_config": None, "access_log": False}


def asgi_application_path() -> str:
    """ASGI_APPLICATION ("package.module.name") in uvicorn's "package.module:name" form."""
    module, name = settings.ASGI_APPLICATION.rsplit(".", 1)
    return f"{module}:{name}"


def build_server(*, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    config = uvicorn.Config(asgi_application_path(), host=host, port=port, lifespan="off", **uvicorn_logging(log_level))
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
