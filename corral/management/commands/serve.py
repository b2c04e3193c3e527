import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from corral.embedded import start_embedded_worker
from corral.env import env_int
from corral.server import asgi_application_path, build_server, serve, uvicorn_logging


class Command(BaseCommand):
    help = (
        "Serve Corral over ASGI (uvicorn). Without REDIS_URL it also runs the Celery worker and beat "
        "in this process (the embedded mode)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        parser.add_argument("--workers", type=int, default=1, help="ASGI processes (production mode only)")
        parser.add_argument("--no-worker", action="store_true", help="do not start the embedded worker and beat")

    def handle(self, *args, host: str, port: int | None, workers: int, no_worker: bool, **options):
        port = port if port is not None else env_int("PORT", 8000, minimum=1)
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        embedded = not settings.REDIS_URL
        if embedded and workers != 1:
            raise CommandError("The embedded mode (no REDIS_URL) runs one process; set REDIS_URL to use --workers.")
        if embedded and not no_worker:
            start_embedded_worker()
        self.stdout.write(f"Corral at http://{host}:{port}/ ({'embedded' if embedded else 'production'} mode)")
        # The server's own messages follow LOG_LEVEL; the request lines come from corral.logs.
        log_level = settings.LOG_LEVEL.lower()
        if workers > 1:
            uvicorn.run(
                asgi_application_path(),
                host=host,
                port=port,
                workers=workers,
                lifespan="off",
                **uvicorn_logging(log_level),
            )
            return
        serve(build_server(host=host, port=port, log_level=log_level))
