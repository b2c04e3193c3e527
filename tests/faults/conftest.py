"""Private services and real server processes for the fault tests.

The machine's own PostgreSQL and Redis are shared and never stopped: these
tests start their own (a Redis server per test, one PostgreSQL cluster per
session) and stop, kill or restart those.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.conftest import free_port, missing
from tests.generation.conftest import demo_model_path  # noqa: F401  (a session fixture shared with these tests)

ROOT = Path(settings.BASE_DIR)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT_SECONDS = 60


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail the test with ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class PrivateRedis:
    """A redis-server of our own on a free loopback port, which the test may stop and start again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*command, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self._answers, timeout=10, what="the private Redis to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary folder (initdb once), run as the postgres OS user."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.port = free_port()

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=check)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        # fsync off: this cluster holds nothing worth keeping, and the tests restart it.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "postgres.log")
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", check=False).returncode == 0

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def private_redis(tmp_path):
    if not os.path.exists(REDIS_SERVER):
        missing(f"redis-server at {REDIS_SERVER}")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="session")
def private_postgres():
    """One cluster for the session with a migrated ``corral_template`` database; tests copy it."""
    if not (PG_BIN / "initdb").exists():
        missing(f"PostgreSQL 15 server binaries in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="corral-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    cluster = PrivatePostgres(root)
    cluster.init()
    cluster.start()
    try:
        cluster.execute("CREATE DATABASE corral_template")
        env = {**os.environ, "DATABASE_URL": cluster.url("corral_template"), "REDIS_URL": "", "DEBUG": "1"}
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert migrated.returncode == 0, migrated.stderr
        yield cluster
    finally:
        if cluster.running():
            cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_database(private_postgres, request) -> str:
    """A fresh, migrated database in the private cluster; returns its URL."""
    if not private_postgres.running():  # an earlier test failed while the cluster was stopped
        private_postgres.start()
    name = f"fault_{request.node.name.lower()}"[:60].replace("[", "_").replace("]", "").replace("-", "_")
    private_postgres.execute(f'DROP DATABASE IF EXISTS "{name}"')
    private_postgres.execute(f'CREATE DATABASE "{name}" TEMPLATE corral_template')
    return private_postgres.url(name)


@pytest.fixture
def shared_database(transactional_db) -> str:
    """The URL of this test's own database, for subprocesses to share with the test (committed data only)."""
    if connection.vendor != "postgresql":
        missing("PostgreSQL (set DATABASE_URL)")
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def production_env(tmp_path, static_root):
    """``production_env(database_url=..., redis_url=..., **more)``: the environment of a production-mode
    process on loopback (DEBUG off; plain HTTP, so cookies are not marked secure)."""

    def build(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "SD_MODEL"))}
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            DEBUG="0",
            # The test process logs its users in; the server must read the same sessions.
            SECRET_KEY=settings.SECRET_KEY,
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            CORRAL_VAR_DIR=str(tmp_path / "var"),
            MEDIA_ROOT=str(tmp_path / "media"),
            STATIC_ROOT=str(static_root),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            **extra,
        )
        return env

    return build


@dataclass
class Server:
    """`manage.py serve` in a subprocess; its output goes to a log file the failure messages show."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    # Production mode's websocket server; pages open their sockets there (WEBSOCKET_ORIGIN), as with no proxy.
    websocket_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def websocket_origin(self) -> str:
        return f"ws://127.0.0.1:{self.websocket_port}"

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(self.port), "--no-worker"]
                + ["--websocket-port", str(self.websocket_port)],
                cwd=ROOT,
                env={"WEBSOCKET_ORIGIN": self.websocket_origin, **self.env},
                stdout=log,
                stderr=log,
            )

        def answers() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                urllib.request.urlopen(f"{self.base_url}/accounts/login/", timeout=2).close()
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True

        wait_until(answers, timeout=START_TIMEOUT_SECONDS, what=f"the server to answer\n{self.log()}", interval=0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class Worker:
    """`celery -A corral worker` in a subprocess, to be killed for real."""

    env: dict[str, str]
    log_path: Path
    queues: str = "gpu"
    process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""

    def start(self) -> None:
        command = [sys.executable, "-m", "celery", "-A", "corral", "worker", "-Q", self.queues, "--pool", "solo"]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [
                    *command,
                    "--concurrency",
                    "1",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                    "--loglevel",
                    "INFO",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def processes(tmp_path):
    """``processes.server(env)`` / ``processes.worker(env)`` start real processes, all stopped at the end."""

    class Processes:
        def __init__(self):
            self.started = []

        def server(self, env: dict[str, str]) -> Server:
            server = Server(env=env, log_path=tmp_path / f"server-{len(self.started)}.log")
            self.started.append(server)
            server.start()
            return server

        def worker(self, env: dict[str, str], queues: str = "gpu") -> Worker:
            worker = Worker(env=env, log_path=tmp_path / f"worker-{len(self.started)}.log", queues=queues)
            self.started.append(worker)
            worker.start()
            return worker

    started = Processes()
    yield started
    for process in reversed(started.started):
        process.stop()
