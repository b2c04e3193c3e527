"""Vote throughput and latency on a production-like server.

- PostgreSQL from DATABASE_URL; a dedicated database ``<name>_votebench`` is dropped, created and
  migrated on each run (and dropped at the end unless BENCH_KEEP_DB=1).
- The README's production server, ``manage.py serve --workers BENCH_WORKERS`` (default: one process per
  CPU), DEBUG off, a psycopg connection pool per process (DATABASE_POOL_SIZE, default 8), the production
  middleware stack, Redis from REDIS_URL (default redis://127.0.0.1:6379/0) as broker and channel layer.
- BENCH_USERS (64) annotators, each logged in with its own session, on as many keep-alive connections,
  vote through the real endpoint (``POST /candidates/<uid>/vote`` as a browser's htmx sends it, Origin
  and CSRF header included; labeling/fast_vote.py answers it) for BENCH_SECONDS (30) after a short
  warm-up. Annotators work in threes on shared tasks (the project's overlap is 3), so tasks fill up
  and complete as in real use.
- Then the same load on the floor: an endpoint that only authenticates and upserts one row, on the same
  stack as the votes (``bench/asgi.py``: the fast path's request checks and session authentication, served
  only by this script's settings module ``bench.settings``).

The load generator is wrk (``apt-get install wrk``) with a Lua script that cycles through the annotators'
requests, one thread, so the server keeps most of the CPU; without wrk, one asyncio process speaking raw
HTTP/1.1 (it takes more of the CPU, so figures are lower).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/0 \
       .venv/bin/python bench/vote_load.py
"""

import asyncio
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
USERS = int(os.environ.get("BENCH_USERS", "64"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
OVERLAP = 3
CANDIDATES_PER_TASK = 4
# Enough fresh candidates for each annotator to vote this fast without repeating; faster ones start over.
VOTES_PER_USER_PER_SECOND = 130


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "corral"
    return urlunsplit(parts._replace(path=f"/{name}_votebench"))


def recreate_database(url: str, *, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def production_env(database_url: str, var_dir: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP on loopback: no TLS redirect, cookies not marked secure.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        DATABASE_POOL_SIZE=os.environ.get("DATABASE_POOL_SIZE", "8"),
        CORRAL_VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


@dataclass
class Annotator:
    session_key: str
    csrf_token: str
    vote_paths: list[str] = field(default_factory=list)
    floor_bodies: list[str] = field(default_factory=list)


def seed() -> list[Annotator]:
    """Project, annotators with sessions, and two disjoint sets of ready tasks (votes, floor)."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from accounts.sessions import SessionStore
    from labeling.models import Candidate, Membership, Project, Task

    call_command("migrate", verbosity=0)
    project = Project.objects.create(
        slug="bench", name="Bench", votes_per_candidate=OVERLAP, candidates_per_task=CANDIDATES_PER_TASK
    )
    users = User.objects.bulk_create(User(username=f"bench{n}", password=make_password(None)) for n in range(USERS))
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)

    groups = math.ceil(USERS / OVERLAP)
    tasks_per_group = math.ceil(SECONDS * VOTES_PER_USER_PER_SECOND / CANDIDATES_PER_TASK)

    def candidates_for(phase: str) -> list[list[Candidate]]:
        tasks = Task.objects.bulk_create(
            (
                Task(project=project, prompt=f"{phase} {g}-{t}", source=Task.Source.BATCH, status=Task.Status.READY)
                for g in range(groups)
                for t in range(tasks_per_group)
            ),
            batch_size=2000,
        )
        candidates = Candidate.objects.bulk_create(
            (Candidate(task=task, index=i) for task in tasks for i in range(CANDIDATES_PER_TASK)), batch_size=5000
        )
        per_group = tasks_per_group * CANDIDATES_PER_TASK
        return [candidates[g * per_group : (g + 1) * per_group] for g in range(groups)]

    vote_groups, floor_groups = candidates_for("vote"), candidates_for("floor")
    annotators = []
    for number, user in enumerate(users):
        group, seat = divmod(number, OVERLAP)
        # The three annotators of a group start a third of the way apart, as a queue would spread them.
        offset = seat * len(vote_groups[group]) // OVERLAP
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        votes = vote_groups[group][offset:] + vote_groups[group][:offset]
        floor = floor_groups[group][offset:] + floor_groups[group][:offset]
        annotators.append(
            Annotator(
                session_key=session.session_key,
                csrf_token=get_random_string(32),
                vote_paths=[f"/candidates/{c.uid}/vote|value={'up' if c.index % 2 else 'down'}" for c in votes],
                floor_bodies=[f"/bench/floor|candidate={c.pk}" for c in floor],
            )
        )
    from django.db import connections

    connections.close_all()
    return annotators


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status, headers.get(b"connection") != b"close"


async def annotate(
    port: int, annotator: Annotator, items: list[str], expected: int, start_at: float, stop_at: float, results: Results
) -> None:
    head = (
        f"Host: 127.0.0.1:{port}\r\nCookie: sessionid={annotator.session_key}; csrftoken={annotator.csrf_token}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nX-CSRFToken: {annotator.csrf_token}\r\nHX-Request: true\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    )
    requests = []
    for item in items:
        path, body = item.split("|", 1)
        requests.append(f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}".encode())
    reader = writer = None
    number = 0
    while (began := time.perf_counter()) < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(requests[number % len(requests)])
            number += 1
            status, keep_alive = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            if began >= start_at:
                results.error(f"{type(error).__name__}: {error}")
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        elapsed = time.perf_counter() - began
        if began >= start_at:
            if status == expected:
                results.latencies.append(elapsed)
            else:
                results.error(f"HTTP {status}")
        if not keep_alive:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def load(port: int, annotators: list[Annotator], *, floor: bool) -> Results:
    results = Results()
    now = time.perf_counter()
    start_at, stop_at = now + WARMUP_SECONDS, now + WARMUP_SECONDS + SECONDS
    await asyncio.gather(
        *(
            annotate(
                port,
                annotator,
                annotator.floor_bodies if floor else annotator.vote_paths,
                204 if floor else 200,
                start_at,
                stop_at,
                results,
            )
            for annotator in annotators
        )
    )
    return results


WRK_SCRIPT = """
local offset = tonumber(os.getenv("BENCH_WRK_OFFSET"))
local requests = {}
for line in io.lines(os.getenv("BENCH_WRK_REQUESTS")) do
  requests[#requests + 1] = line:gsub("\\t", "\\r\\n")
end
local sent = 0
request = function()
  sent = sent + 1
  return requests[(offset + sent - 1) % #requests + 1]
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("wrk-result %d %d %d %.3f %.3f %.3f %d\\n", summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors.status))
end
"""


@dataclass
class WrkResults:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk_run(port: int, requests_file: Path, script: Path, seconds: float, offset: int) -> WrkResults:
    command = ["wrk", "-t1", f"-c{USERS}", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(script)]
    env = {**os.environ, "BENCH_WRK_REQUESTS": str(requests_file), "BENCH_WRK_OFFSET": str(offset)}
    output = subprocess.run(command + [f"http://127.0.0.1:{port}/"], env=env, capture_output=True, text=True)
    line = next((line for line in output.stdout.splitlines() if line.startswith("wrk-result")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {output.stdout}{output.stderr}")
    requests, duration_us, socket_errors, p50, p95, p99, bad_status = line.split()[1:]
    # Non-2xx answers count as errors; wrk counts them among its completed requests too.
    return WrkResults(
        requests=int(requests) - int(bad_status),
        seconds=int(duration_us) / 1e6,
        errors=int(socket_errors) + int(bad_status),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
    )


def wrk_load(port: int, annotators: list[Annotator], *, floor: bool, work: Path) -> WrkResults:
    """The annotators' requests in turn (each one's next item), through wrk: a warm-up, then the measured run."""
    head = f"Host: 127.0.0.1:{port}\tOrigin: http://127.0.0.1:{port}\tHX-Request: true\t"
    head += "Content-Type: application/x-www-form-urlencoded\t"
    lines = []
    for number in range(max(len(a.floor_bodies if floor else a.vote_paths) for a in annotators)):
        for annotator in annotators:
            items = annotator.floor_bodies if floor else annotator.vote_paths
            path, body = items[number % len(items)].split("|", 1)
            cookie = f"Cookie: sessionid={annotator.session_key}; csrftoken={annotator.csrf_token}"
            lines.append(
                f"POST {path} HTTP/1.1\t{head}{cookie}\tX-CSRFToken: {annotator.csrf_token}\t"
                f"Content-Length: {len(body)}\t\t{body}"
            )
    requests_file = work / ("floor.txt" if floor else "votes.txt")
    requests_file.write_text("\n".join(lines) + "\n")
    script = work / "annotators.lua"
    script.write_text(WRK_SCRIPT)
    warmup = wrk_run(port, requests_file, script, WARMUP_SECONDS, offset=0)
    return wrk_run(port, requests_file, script, SECONDS, offset=warmup.requests + warmup.errors)


def percentile_ms(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def wait_until_serving(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def summarized(results: Results) -> WrkResults:
    """The asyncio client's figures in the form wrk's come in."""
    return WrkResults(
        requests=len(results.latencies),
        seconds=SECONDS,
        errors=results.errors,
        p50_ms=percentile_ms(results.latencies, 0.5),
        p95_ms=percentile_ms(results.latencies, 0.95),
        p99_ms=percentile_ms(results.latencies, 0.99),
    )


def phase(port: int, annotators: list[Annotator], *, floor: bool, work: Path) -> WrkResults:
    """One measured phase, through wrk when it is installed, else through the asyncio client."""
    if shutil.which("wrk"):
        return wrk_load(port, annotators, floor=floor, work=work)
    import uvloop

    return summarized(uvloop.run(load(port, annotators, floor=floor)))


def describe(name: str, results: WrkResults) -> None:
    print(
        f"{name}: {results.rate:.0f}/s, p50 {results.p50_ms:.1f} ms, p95 {results.p95_ms:.1f} ms, "
        f"p99 {results.p99_ms:.1f} ms, {results.errors} errors",
        flush=True,
    )


def describe_stored(database_url: str) -> None:
    """What the votes phase left in the database: the votes are real rows, and tasks completed as they filled."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows, wrong, tasks, complete = conn.execute(
            "SELECT COUNT(v.id), COUNT(v.id) FILTER (WHERE v.value <> CASE WHEN c.index % 2 = 1 THEN 1 ELSE -1 END),"
            " COUNT(DISTINCT t.id), COUNT(DISTINCT t.id) FILTER (WHERE t.status = 'complete')"
            " FROM labeling_task t JOIN labeling_candidate c ON c.task_id = t.id"
            " LEFT JOIN labeling_vote v ON v.candidate_id = c.id WHERE t.prompt LIKE 'vote %'"
        ).fetchone()
    print(f"stored: {rows} vote rows ({wrong} with a value not cast), {complete} of {tasks} tasks complete", flush=True)


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/corral")
    database_url = bench_database_url(base_url)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    var_dir = tempfile.mkdtemp(prefix="corral-votebench-")
    env = production_env(database_url, var_dir)
    os.environ.update({key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    os.environ.pop("REDIS_URL", None)

    print(f"preparing {database_url.rsplit('/', 1)[-1]}: {USERS} annotators, overlap {OVERLAP}", flush=True)
    recreate_database(database_url)
    annotators = seed()

    port = free_port()
    # Several processes need Redis (broker, channel layer), as in production; no vote touches it.
    server_env = {**env, "REDIS_URL": redis_url}
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(WORKERS)]
    server = subprocess.Popen(command, cwd=ROOT, env=server_env)
    try:
        wait_until_serving(port, server)
        load_average = os.getloadavg()
        print(
            f"server: manage.py serve, {WORKERS} worker processes; "
            f"load generator: {'wrk, 1 thread' if shutil.which('wrk') else '1 asyncio process'}; "
            f"{os.cpu_count()} CPUs, load average before {load_average[0]:.2f}; "
            f"{SECONDS:.0f} s per phase after {WARMUP_SECONDS:.0f} s warm-up",
            flush=True,
        )
        votes = phase(port, annotators, floor=False, work=Path(var_dir))
        describe("votes", votes)
        describe_stored(database_url)
        floor = phase(port, annotators, floor=True, work=Path(var_dir))
        describe("floor", floor)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if os.environ.get("BENCH_KEEP_DB") != "1":
            recreate_database(database_url, create=False)

    print(f"votes_per_s: {votes.rate:.0f}")
    print(f"p50_ms: {votes.p50_ms:.1f}")
    print(f"p95_ms: {votes.p95_ms:.1f}")
    print(f"p99_ms: {votes.p99_ms:.1f}")
    print(f"errors: {votes.errors}")
    print(f"floor_votes_per_s: {floor.rate:.0f}")
    print(f"ratio: {votes.rate / floor.rate if floor.rate else float('nan'):.2f}")


if __name__ == "__main__":
    main()
