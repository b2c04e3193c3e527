from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from corral.embedded import start_embedded_worker
from corral.env import env_int
from corral.server import build_server, serve, serve_production


def valid_port(name: str, port: int) -> int:
    if not 0 < port < 65536:
        raise CommandError(f"{name} must be between 1 and 65535, got {port}")
    return port


class Command(BaseCommand):
    help = (
        "Serve Corral. Without REDIS_URL (the embedded mode): HTTP and websockets from one uvicorn process, which also "
        "runs the Celery worker and beat. With REDIS_URL (production): HTTP through granian's WSGI workers on --port, "
        "websockets through uvicorn on --websocket-port (route /ws/ there from your proxy)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        parser.add_argument(
            "--websocket-port", type=int, default=None, help="production mode; default: $WEBSOCKET_PORT or --port + 1"
        )
        parser.add_argument("--workers", type=int, default=1, help="HTTP processes (production mode only)")
        parser.add_argument("--no-worker", action="store_true", help="do not start the embedded worker and beat")

    def handle(
        self, *args, host: str, port: int | None, websocket_port: int | None, workers: int, no_worker: bool, **options
    ):
        port = valid_port("--port", port if port is not None else env_int("PORT", 8000, minimum=1))
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        embedded = not settings.REDIS_URL
        # The server's own messages follow LOG_LEVEL; the request lines come from corral.logs.
        log_level = settings.LOG_LEVEL.lower()
        if embedded:
            if workers != 1:
                raise CommandError("The embedded mode (no REDIS_URL) runs one process; set REDIS_URL to use --workers.")
            if not no_worker:
                start_embedded_worker()
            self.stdout.write(f"Corral at http://{host}:{port}/ (embedded mode)")
            serve(build_server(host=host, port=port, log_level=log_level))
            return
        if websocket_port is None:
            websocket_port = env_int("WEBSOCKET_PORT", port + 1, minimum=1)
        websocket_port = valid_port("--websocket-port", websocket_port)
        if websocket_port == port:
            raise CommandError(f"--websocket-port must differ from --port ({port}): HTTP and websockets listen apart.")
        self.stdout.write(
            f"Corral at http://{host}:{port}/, websockets at ws://{host}:{websocket_port}/ws/ (production mode)"
        )
        try:
            serve_production(host=host, port=port, websocket_port=websocket_port, workers=workers, log_level=log_level)
        except RuntimeError as error:
            raise CommandError(f"Stopped: {error}.") from error
