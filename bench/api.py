"""API listing benchmark: 10,000 judgements of a 1,000,000-judgement project, page by page, through a real server.

- PostgreSQL from DATABASE_URL; a dedicated database ``<name>_apibench`` is dropped, created and migrated on
  each run (and dropped at the end unless BENCH_KEEP_DB=1).
- The project is built straight in PostgreSQL: BENCH_TASKS (50,000) tasks of 4 images, each image voted on by
  5 annotators: 1,000,000 votes over 30 days, in the order the queue hands tasks out (a minute of jitter), as
  annotators work; BENCH_RANDOM_TIMES=1 scatters the change times at random over the 30 days instead (the
  worst case: consecutive rows of a page then share no candidate or task).
- The README's production server, ``manage.py serve`` (one process, DEBUG off, a connection pool), on a loopback
  port; the client is one keep-alive HTTP connection with a read API token.
- One walk lists BENCH_JUDGEMENTS (10,000) votes from the oldest change on, BENCH_PAGE_SIZE (500) a page, each
  page asked for with the previous page's cursor. One warm-up walk, then BENCH_WALKS (5) measured walks, each
  from a different point of the history.

Ends with the page latencies (``api_page_p95_ms`` is the goal's figure) and prints the page query's plan.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral .venv/bin/python bench/api.py
"""

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = int(os.environ.get("BENCH_TASKS", "50000"))
VOTERS = 5
CANDIDATES_PER_TASK = 4
JUDGEMENTS = int(os.environ.get("BENCH_JUDGEMENTS", "10000"))
PAGE_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", "500"))
WALKS = int(os.environ.get("BENCH_WALKS", "5"))
RANDOM_TIMES = os.environ.get("BENCH_RANDOM_TIMES") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str, *, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def seed() -> tuple[str, str]:
    """The project, built with set-based SQL; returns (project slug, a read token of its manager)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import ApiToken, User
    from accounts.tokens import api_token_create
    from labeling.models import Membership, Project
    from labeling.models.counts import judgement_counts_recount

    call_command("migrate", verbosity=0)
    project = Project.objects.create(slug="bench", name="Bench", votes_per_candidate=VOTERS)
    manager = User.objects.create_user(username="bench-manager")
    Membership.objects.create(user=manager, project=project, role=Membership.Role.MANAGER)
    voters = [User.objects.create_user(username=f"bench-voter-{n}") for n in range(VOTERS)]
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in voters)
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # Row by row, the judgement counts' triggers would take minutes here: off for the load, counted once after.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            """
            INSERT INTO labeling_task (project_id, prompt, source, status, extra, created_at, updated_at, queued_at)
            SELECT %s, 'bench prompt ' || n, 'batch', 'complete', '{}', now() - interval '31 days', now(),
                   now() - interval '31 days'
            FROM generate_series(1, %s) AS n
            """,
            [project.pk, TASKS],
        )
        cursor.execute(
            """
            INSERT INTO labeling_candidate (task_id, uid, index, image, text, model_name, seed, params,
                                            uncertainty, review_state, review_reason, created_at)
            SELECT t.id, gen_random_uuid(), i, 'candidates/bench-' || (t.id * 4 + i) %% 997 || '.png', '',
                   'bench-model', t.id * 4 + i, '{"steps": 30, "guidance": 7.5}', '{}', 'n/a', '',
                   now() - interval '31 days'
            FROM labeling_task t CROSS JOIN generate_series(0, %s) AS i
            WHERE t.project_id = %s
            """,
            [CANDIDATES_PER_TASK - 1, project.pk],
        )
        cursor.execute(
            """
            INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)
            SELECT u.id, c.id, CASE WHEN random() < 0.7 THEN 1 ELSE -1 END, now() - interval '31 days',
                   CASE WHEN %s THEN now() - random() * interval '30 days'
                   ELSE now() - interval '30 days' + ((c.id * %s + u.rank) * 2.5 + random() * 60) * interval '1 second'
                   END
            FROM labeling_candidate c
            CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM accounts_user WHERE id = ANY(%s)) AS u
            """,
            [RANDOM_TIMES, VOTERS, [user.pk for user in voters]],
        )
    judgement_counts_recount()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*), count(DISTINCT updated_at) FROM labeling_vote")
        votes, times = cursor.fetchone()
    print(
        f"seeded {votes:,} votes ({times:,} distinct change times) on {TASKS * CANDIDATES_PER_TASK:,} images "
        f"in {time.monotonic() - started:.0f} s"
    )
    _, secret = api_token_create(user=manager, name="bench", scope=ApiToken.Scope.READ)
    return project.slug, secret


def explain(slug: str) -> None:
    """The plan of one deep page, as the API asks for it."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from api.pagination import UtcIsoText, page_query
    from api.views.judgements import TIME_COLUMNS
    from exports.tables.votes import VOTE_FIELDS, votes_marked
    from labeling.models import Vote

    queryset = votes_marked(Vote.objects.filter(candidate__task__project__slug=slug))
    queryset = queryset.annotate(**{text: UtcIsoText(column) for column, text in TIME_COLUMNS.items()})
    after = (timezone.now() - timedelta(days=15), 1)
    page = page_query(queryset, after=after, size=PAGE_SIZE).values_list(
        *[TIME_COLUMNS.get(field, field) for field in VOTE_FIELDS]
    )
    sql, params = page.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        print("\n".join(line for (line,) in cursor.fetchall()))


def wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(f"{base}/healthz", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    sys.exit(f"the server did not start:\n{log.read_text()[-3000:]}")


def walk(client, url: str, *, since: str | None) -> list[float]:
    """Latency (ms) of each page of one walk of JUDGEMENTS votes."""
    params = {"page_size": PAGE_SIZE} | ({"updated_since": since} if since else {})
    latencies, seen, next_url = [], set(), None
    while len(seen) < JUDGEMENTS:
        started = time.perf_counter()
        response = client.get(next_url) if next_url else client.get(url, params=params)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        page = response.json()
        ids = [row["id"] for row in page["results"]]
        assert len(ids) == PAGE_SIZE and not seen & set(ids), "a page was short or repeated rows"
        seen |= set(ids)
        next_url = page["next"]
    return latencies


def main() -> None:
    import httpx

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench uses <name>_apibench there).")
    parts = urlsplit(base_url)
    url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_apibench"))
    recreate_database(url)
    work = Path(tempfile.mkdtemp(prefix="corral-bench-api-"))
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DATABASE_URL=url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        DATABASE_POOL_SIZE="4",
        CORRAL_VAR_DIR=str(work / "var"),
        LOG_LEVEL="WARNING",
        API_REQUESTS_PER_MINUTE="100000",
        API_MAX_PAGE_SIZE=str(max(PAGE_SIZE, 1000)),
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
    slug, token = seed()
    explain(slug)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        wait_until_serving(base, server, log)
        votes_url = f"{base}/api/v1/projects/{slug}/votes"
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            walk(client, votes_url, since=None)  # warm-up: connections, plans, caches
            latencies = []
            walk_seconds = []
            for number in range(WALKS):
                since = _since(days_ago=30 - 5 * number) if number else None
                started = time.perf_counter()
                latencies += walk(client, votes_url, since=since)
                walk_seconds.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if os.environ.get("BENCH_KEEP_DB") != "1":
            from django.db import connections

            connections.close_all()
            recreate_database(url, create=False)
    latencies.sort()
    print(f"api_pages: {len(latencies)}")
    print(f"api_page_median_ms: {statistics.median(latencies):.1f}")
    print(f"api_page_max_ms: {latencies[-1]:.1f}")
    print(f"api_walk_{JUDGEMENTS}_median_s: {statistics.median(walk_seconds):.2f}")
    print(f"api_page_p95_ms: {latencies[max(0, round(0.95 * len(latencies)) - 1)]:.1f}")


def _since(*, days_ago: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


if __name__ == "__main__":
    main()
