"""Every page a person uses, measured on a large project on the production server (issue 17).

- PostgreSQL from DATABASE_URL; a database ``<name>_scale`` is dropped, created, migrated and filled straight in
  PostgreSQL (bench/scale_data.py: 1,000,000 votes, 250,000 candidates, 62,500 tasks, 100 annotators,
  10 reviewers, 20,000 reviews, 50,000 picks), then ``VACUUM ANALYZE``d: this machine's PostgreSQL runs with
  autovacuum off, where a real server would have analysed the tables itself, and ``CHECKPOINT``ed, so that the
  build's writes are on disk before any page is timed. Dropped at the end unless
  BENCH_KEEP_DB=1; BENCH_REUSE_DB=1 measures a database kept so, as it is, without building it again.
- ``manage.py serve --workers BENCH_WORKERS`` (default: one per CPU), DEBUG off, a connection pool per process.
- Each page is requested BENCH_REQUESTS times (40) one after another, after 3 unmeasured requests, as the person
  who uses it: the dashboard, project and task pages and "Next task" as annotators (the project page and Next
  for a newcomer with nothing judged and for a veteran with 20,000 finished tasks still open to others; each press
  starts with nothing held for them, as a fresh press does), a vote and a pick on untouched tasks, the reviewer's next
  answer and a review save, and the admin's task and vote lists as staff.

Ends with one ``<page>_p95_ms: …`` line per page and ``next_task_history_ratio: …`` (the veteran's p95 over the
newcomer's). Goals: every page p95 ≤ 30 ms (admin lists ≤ 200 ms), ratio ≤ 1.5.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/0 \
       .venv/bin/python bench/scale.py
"""

import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_load import percentile_ms  # noqa: E402
from bench.sessions import logged_in_session_key  # noqa: E402
from bench.vote_load import (  # noqa: E402
    free_port,
    production_env,
    recreate_database,
    serve_command,
    vacuum_analyze,
    wait_until_serving,
)

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
WARMUP = 3
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))


@dataclass
class Visitor:
    """A logged-in person on a keep-alive connection, sending what the site's pages and htmx send."""

    port: int
    session_key: str
    csrf_token: str

    def __post_init__(self):
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def send(self, method: str, path: str, data: dict | None = None, *, htmx: bool = False) -> int:
        headers = {
            "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_token}",
            "X-CSRFToken": self.csrf_token,
            "Origin": f"http://127.0.0.1:{self.port}",
        }
        if htmx:
            headers["HX-Request"] = "true"
        body = urlencode(data) if data is not None else None
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closes a keep-alive connection left idle (here, while other pages were measured).
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        response.read()
        return response.status


@dataclass
class Page:
    name: str
    visitor: Visitor
    request: Callable[[int], tuple]  # request number -> (method, path, data, htmx)
    expected: int
    before_each: Callable[[], None] = lambda: None


def measure(page: Page) -> list[float]:
    """Seconds of each measured request; a wrong status stops the bench (a fast error proves nothing)."""
    timings = []
    for number in range(WARMUP + REQUESTS):
        method, path, data, htmx = page.request(number)
        page.before_each()
        started = time.perf_counter()
        status = page.visitor.send(method, path, data, htmx=htmx)
        elapsed = time.perf_counter() - started
        if status != page.expected:
            raise SystemExit(f"{page.name}: {method} {path} answered {status}, expected {page.expected}")
        if number >= WARMUP:
            timings.append(elapsed)
    return timings


def sessions_for(user_ids: list[int]) -> dict[int, str]:
    from accounts.models import User

    return {user.pk: logged_in_session_key(user) for user in User.objects.filter(pk__in=user_ids)}


def pages(port: int, actors, sql) -> list[Page]:
    """The pages people use, each with its visitor and a fresh item per request where it writes."""
    from django.utils.crypto import get_random_string

    keys = sessions_for([actors.newcomer_id, actors.veteran_id, actors.reviewer_id, actors.staff_id])

    def visitor(user_id: int) -> Visitor:
        return Visitor(port, keys[user_id], get_random_string(32))

    newcomer, veteran = visitor(actors.newcomer_id), visitor(actors.veteran_id)
    reviewer, staff = visitor(actors.reviewer_id), visitor(actors.staff_id)
    slug, text_slug = actors.project_slug, actors.text_slug
    wanted = WARMUP + REQUESTS
    open_tasks = sql(
        "SELECT t.id FROM labeling_task t JOIN labeling_project p ON p.id = t.project_id "
        "WHERE p.slug = %s AND t.status = 'ready' ORDER BY t.id LIMIT %s",
        [slug, wanted],
    )
    untouched = sql(
        "SELECT t.id, min(c.uid::text) FROM labeling_task t JOIN labeling_project p ON p.id = t.project_id "
        "JOIN labeling_candidate c ON c.task_id = t.id WHERE p.slug = %s AND t.status = 'ready' "
        "AND NOT EXISTS (SELECT 1 FROM labeling_vote v JOIN labeling_candidate o ON o.id = v.candidate_id "
        "WHERE o.task_id = t.id) GROUP BY t.id ORDER BY t.id DESC LIMIT %s",
        [slug, 2 * wanted],
    )
    to_vote, to_pick = untouched[:wanted], untouched[wanted:]
    waiting = sql(
        "SELECT c.uid::text FROM labeling_candidate c JOIN labeling_task t ON t.id = c.task_id "
        "JOIN labeling_project p ON p.id = t.project_id WHERE p.slug = %s AND c.review_state = 'needs_review' "
        "ORDER BY c.id DESC LIMIT %s",
        [text_slug, wanted],
    )

    def nothing_held(table: str, user_id: int) -> Callable[[], None]:
        return lambda: sql(f"DELETE FROM {table} WHERE user_id = %s", [user_id])

    return [
        Page("dashboard", veteran, lambda n: ("GET", "/", None, False), 200),
        Page("project", veteran, lambda n: ("GET", f"/p/{slug}/", None, False), 200),
        Page("project_newcomer", newcomer, lambda n: ("GET", f"/p/{slug}/", None, False), 200),
        Page(
            "next_task",
            newcomer,
            lambda n: ("POST", f"/p/{slug}/next", {}, False),
            302,
            nothing_held("labeling_taskreservation", actors.newcomer_id),
        ),
        Page(
            "next_task_history",
            veteran,
            lambda n: ("POST", f"/p/{slug}/next", {}, False),
            302,
            nothing_held("labeling_taskreservation", actors.veteran_id),
        ),
        Page("task", veteran, lambda n: ("GET", f"/tasks/{open_tasks[n][0]}/", None, False), 200),
        Page("vote", newcomer, lambda n: ("POST", f"/candidates/{to_vote[n][1]}/vote", {"value": "up"}, True), 200),
        Page(
            "pick",
            newcomer,
            lambda n: ("POST", f"/tasks/{to_pick[n][0]}/preference", {"choice": "best", "chosen": to_pick[n][1]}, True),
            200,
        ),
        Page(
            "review_next",
            reviewer,
            lambda n: ("GET", f"/p/{text_slug}/review/", None, False),
            302,
            nothing_held("labeling_reviewreservation", actors.reviewer_id),
        ),
        Page(
            "review_save",
            reviewer,
            lambda n: ("POST", f"/review/{waiting[n][0]}/save", {"decision": "accept", "reason": ""}, False),
            302,
        ),
        Page("admin_tasks", staff, lambda n: ("GET", "/admin/labeling/task/", None, False), 200),
        Page("admin_votes", staff, lambda n: ("GET", "/admin/labeling/vote/", None, False), 200),
    ]


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/corral")
    parts = urlsplit(base_url)
    database_url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_scale"))
    var_dir = tempfile.mkdtemp(prefix="corral-scale-")
    env = production_env(database_url, var_dir)
    os.environ.update({key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    os.environ.pop("REDIS_URL", None)

    import django
    import psycopg

    from bench.scale_data import actors_built, build, counts

    reuse = os.environ.get("BENCH_REUSE_DB") == "1"
    if not reuse:
        recreate_database(database_url)
    django.setup()
    started = time.perf_counter()
    actors = actors_built() if reuse else build()
    built_s = time.perf_counter() - started
    from labeling.tasks import count_projects

    count_projects()  # as the beat does every PROJECT_COUNTS_SECONDS in production
    vacuum_analyze(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        print(f"{'reused' if reuse else f'built in {built_s:.0f} s'}: {counts(conn.cursor())}", flush=True)
        print("ran VACUUM ANALYZE: this machine's PostgreSQL has autovacuum off; a real server analyses itself")
    from django.db import connections

    with psycopg.connect(database_url, autocommit=True) as conn:

        def sql(statement: str, params: list) -> list[tuple]:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

        port = free_port()
        server_env = {**env, "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")}
        # Pages render with DEBUG off, so their static files come from a manifest, as after a release.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=server_env, check=True
        )
        server = subprocess.Popen([*serve_command(port), "--workers", str(WORKERS)], cwd=ROOT, env=server_env)
        results = {}
        try:
            wait_until_serving(port, server)
            to_measure = pages(port, actors, sql)
            connections.close_all()
            print(f"server: {WORKERS} processes; {REQUESTS} requests per page after {WARMUP}", flush=True)
            for page in to_measure:
                timings = measure(page)
                results[page.name] = (percentile_ms(timings, 0.50), percentile_ms(timings, 0.95))
                print(
                    f"{page.name}: p50 {results[page.name][0]:.1f} ms, p95 {results[page.name][1]:.1f} ms", flush=True
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    if os.environ.get("BENCH_KEEP_DB") != "1" and not reuse:
        recreate_database(database_url, create=False)

    for name, (_p50, p95) in results.items():
        print(f"{name}_p95_ms: {p95:.1f}")
    print(f"next_task_history_ratio: {results['next_task_history'][1] / results['next_task'][1]:.2f}")


if __name__ == "__main__":
    main()
