"""Vote throughput and latency on a production-like server, every vote through Django's own stack.

- PostgreSQL from DATABASE_URL; a dedicated database ``<name>_votebench`` is dropped, created and
  migrated on each run (and dropped at the end unless BENCH_KEEP_DB=1).
- The README's production server, ``manage.py serve --workers BENCH_WORKERS`` (HTTP through granian; by default one
  process per CPU), DEBUG off, a psycopg connection pool per process (DATABASE_POOL_SIZE, default 8), the production
  middleware stack and session engine, Redis from REDIS_URL (default redis://127.0.0.1:6379/0) as broker,
  channel layer and session cache.
- BENCH_USERS (64) annotators, each logged in with its own session, vote through the real endpoint
  (``POST /candidates/<uid>/vote`` as a browser's htmx sends it, Origin and CSRF header included).
  Annotators work in threes on shared tasks (the project's overlap is 3), the three of a group a third
  of the way apart through their candidates (at a few hundred votes a second, no task fills up within the
  run); BENCH_CLOSE_GROUPS=1 starts them two tasks apart instead, so tasks fill up and complete during
  the run. Three phases, each after a short warm-up:
  - paced: each annotator votes once a second (open loop: BENCH_USERS votes/s offered whatever the
    answers do) for BENCH_PACED_SECONDS (20); latency counts from when the vote was due;
  - votes: closed loop, each annotator on a keep-alive connection voting again as soon as answered,
    for BENCH_SECONDS (30) in all;
  - floor: the same closed loop on a minimal Django view in the same server (``bench/urls.py``: login
    required, CSRF checked, one row upserted), served only by this script's settings ``bench.settings``.
  The two closed loops take turns in BENCH_ROUNDS (3) rounds of BENCH_SECONDS / BENCH_ROUNDS each, in the other
  order every other round (votes, floor; floor, votes; …), each after its warm-up: this VM's speed drifts by
  10-20 % within a minute, and one phase after the other put that drift into their ratio. Their rates are the
  requests of all rounds over their seconds; their latency percentiles, the highest of the rounds.

The closed loops run through wrk (``apt-get install wrk``) with a Lua script that cycles through the
annotators' requests, one thread, so the server keeps most of the CPU; without wrk, one asyncio process
speaking raw HTTP/1.1 (it takes more of the CPU, so figures are lower). The paced phase is always asyncio.

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
from operator import attrgetter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_load import WRK_SCRIPT, Credentials, Results, WrkResults, annotate, summarized, wrk_run  # noqa: E402
from bench.sessions import logged_in_session_key  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
USERS = int(os.environ.get("BENCH_USERS", "64"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLOSE_GROUPS = os.environ.get("BENCH_CLOSE_GROUPS") == "1"
OVERLAP = 3
CANDIDATES_PER_TASK = 4
# Enough fresh candidates for each annotator to vote this fast without repeating; faster ones start over. No more:
# wrk reads every request from its file when it starts, inside the measured time.
VOTES_PER_USER_PER_SECOND = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(port: int) -> list[str]:
    """``manage.py serve`` in production mode on ``port``, its websockets on another free port: the default, the
    next port up, may be taken."""
    websocket_port = free_port()
    while websocket_port == port:
        websocket_port = free_port()
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [*command, "--websocket-port", str(websocket_port)]


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


def vacuum_analyze(url: str, *, vacuum: bool = True) -> None:
    """What autovacuum does on a real server after rows are loaded or changed: this machine's PostgreSQL runs with
    autovacuum off, and without statistics the planner takes every new table for empty (a review press planned so
    took 300 ms instead of 0.5)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
        if vacuum:  # after a load: its writes go to disk now, not while requests are timed (a commit waited 200 ms)
            conn.execute("CHECKPOINT")


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
class Annotator(Credentials):
    vote_paths: list[str] = field(default_factory=list)
    paced_paths: list[str] = field(default_factory=list)
    floor_bodies: list[str] = field(default_factory=list)


def seed() -> list[Annotator]:
    """Project, annotators with sessions, and two disjoint sets of ready tasks (votes, floor)."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils.crypto import get_random_string

    from accounts.models import User
    from labeling.models import Candidate, Membership, Project, Task

    call_command("migrate", verbosity=0)
    project = Project.objects.create(
        slug="bench", name="Bench", votes_per_candidate=OVERLAP, candidates_per_task=CANDIDATES_PER_TASK
    )
    users = User.objects.bulk_create(User(username=f"bench{n}", password=make_password(None)) for n in range(USERS))
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)

    groups = math.ceil(USERS / OVERLAP)
    tasks_per_group = math.ceil(SECONDS * VOTES_PER_USER_PER_SECOND / CANDIDATES_PER_TASK)

    def candidates_for(phase: str, tasks_per_group: int = tasks_per_group) -> list[list[Candidate]]:
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
    paced_groups = candidates_for("paced", math.ceil(OVERLAP * (PACED_SECONDS + WARMUP_SECONDS) / CANDIDATES_PER_TASK))
    annotators = []
    for number, user in enumerate(users):
        group, seat = divmod(number, OVERLAP)
        # The three annotators of a group start a third of the way apart, as a queue would spread them; close
        # groups start two tasks apart, so each task completes a moment after the first of them reaches it.
        offset = seat * (2 * CANDIDATES_PER_TASK if CLOSE_GROUPS else len(vote_groups[group]) // OVERLAP)
        votes = vote_groups[group][offset:] + vote_groups[group][:offset]
        paced = paced_groups[group][seat::OVERLAP] + paced_groups[group]
        floor = floor_groups[group][offset:] + floor_groups[group][:offset]
        annotators.append(
            Annotator(
                session_key=logged_in_session_key(user),
                csrf_token=get_random_string(32),
                vote_paths=[vote_item(c) for c in votes],
                paced_paths=[vote_item(c) for c in paced],
                floor_bodies=[f"/bench/floor|candidate={c.pk}" for c in floor],
            )
        )
    from django.db import connections

    connections.close_all()
    return annotators


def vote_item(candidate) -> str:
    """One vote as ``path|body``: 👍 on odd candidates, 👎 on even ones (describe_stored checks this)."""
    return f"/candidates/{candidate.uid}/vote|value={'up' if candidate.index % 2 else 'down'}"


async def load(
    port: int, annotators: list[Annotator], items_of, *, expected: int, seconds: float, paced: bool = False
) -> Results:
    """Each annotator's requests (``items_of(annotator)``) through the asyncio client: closed loop, or ``paced``,
    once a second each with their seconds spread evenly, whatever the answers do."""
    results = Results()
    now = time.perf_counter()
    start_at, stop_at = now + WARMUP_SECONDS, now + WARMUP_SECONDS + seconds
    await asyncio.gather(
        *(
            annotate(
                port,
                annotator,
                items_of(annotator),
                expected,
                start_at,
                stop_at,
                results,
                interval=1.0 if paced else None,
                first_due=now + number / len(annotators),
            )
            for number, annotator in enumerate(annotators)
        )
    )
    return results


def wrk_requests_file(port: int, annotators: list[Annotator], *, floor: bool, work: Path) -> Path:
    """The annotators' requests in turn (each one's next item), one per line, for wrk's script."""
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
    return requests_file


def wrk_rounds(port: int, annotators: list[Annotator], *, work: Path) -> tuple[WrkResults, WrkResults]:
    """The votes and the floor through wrk, taking turns in ROUNDS rounds, each after a warm-up; each kind's
    requests run on from where its last round stopped, so no candidate is voted on twice."""
    script = work / "annotators.lua"
    script.write_text(WRK_SCRIPT)
    files = {floor: wrk_requests_file(port, annotators, floor=floor, work=work) for floor in (False, True)}
    offsets = dict.fromkeys(files, 0)
    rounds: dict[bool, list[WrkResults]] = {floor: [] for floor in files}
    for number in range(ROUNDS):
        for floor in (False, True) if number % 2 == 0 else (True, False):
            for seconds, measured in ((WARMUP_SECONDS, False), (SECONDS / ROUNDS, True)):
                results = wrk_run(
                    port,
                    files[floor],
                    script,
                    connections=USERS,
                    seconds=seconds,
                    offset=offsets[floor],
                    expected=204 if floor else 200,
                )
                offsets[floor] += results.requests + results.errors
                if measured:
                    rounds[floor].append(results)
    return combined(rounds[False]), combined(rounds[True])


def combined(rounds: list[WrkResults]) -> WrkResults:
    """Several rounds as one: all their requests over all their seconds; each percentile, the highest round's."""
    return WrkResults(
        requests=sum(r.requests for r in rounds),
        seconds=sum(r.seconds for r in rounds),
        errors=sum(r.errors for r in rounds),
        p50_ms=max(r.p50_ms for r in rounds),
        p95_ms=max(r.p95_ms for r in rounds),
        p99_ms=max(r.p99_ms for r in rounds),
    )


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


def closed_loops(port: int, annotators: list[Annotator], *, work: Path) -> tuple[WrkResults, WrkResults]:
    """The votes' and the floor's closed loops: through wrk when it is installed, else the asyncio client, one
    phase each."""
    if shutil.which("wrk"):
        return wrk_rounds(port, annotators, work=work)
    return tuple(
        summarized(
            uvloop.run(load(port, annotators, attrgetter(items), expected=expected, seconds=SECONDS)), seconds=SECONDS
        )
        for items, expected in (("vote_paths", 200), ("floor_bodies", 204))
    )


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
    vacuum_analyze(database_url)

    port = free_port()
    # Several processes need Redis (broker, channel layer), as in production; no vote touches it.
    server_env = {**env, "REDIS_URL": redis_url}
    command = [*serve_command(port), "--workers", str(WORKERS)]
    server = subprocess.Popen(command, cwd=ROOT, env=server_env)
    try:
        wait_until_serving(port, server)
        load_average = os.getloadavg()
        print(
            f"server: manage.py serve, {WORKERS} worker processes; "
            f"load generator: {'wrk, 1 thread' if shutil.which('wrk') else '1 asyncio process'}; "
            f"{os.cpu_count()} CPUs, load average before {load_average[0]:.2f}; "
            f"{SECONDS:.0f} s per closed loop in {ROUNDS if shutil.which('wrk') else 1} rounds, each after"
            f" {WARMUP_SECONDS:.0f} s warm-up",
            flush=True,
        )
        paced_results = load(
            port, annotators, attrgetter("paced_paths"), expected=200, seconds=PACED_SECONDS, paced=True
        )
        paced = summarized(uvloop.run(paced_results), seconds=PACED_SECONDS)
        describe("paced", paced)
        votes, floor = closed_loops(port, annotators, work=Path(var_dir))
        describe("votes", votes)
        describe("floor", floor)
        describe_stored(database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if os.environ.get("BENCH_KEEP_DB") != "1":
            recreate_database(database_url, create=False)

    print(f"votes_per_s: {votes.rate:.0f}")
    print(f"p50_ms: {votes.p50_ms:.1f}")
    print(f"p95_ms: {votes.p95_ms:.1f}")
    print(f"p99_ms: {votes.p99_ms:.1f}")
    print(f"errors: {votes.errors + paced.errors}")
    print(f"floor_votes_per_s: {floor.rate:.0f}")
    print(f"ratio: {votes.rate / floor.rate if floor.rate else float('nan'):.2f}")
    print(f"paced_p95_ms: {paced.p95_ms:.1f}")


if __name__ == "__main__":
    main()
