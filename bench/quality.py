"""The Quality page and ``quality_report`` on 1,000,000 judgements by 100 annotators.

- PostgreSQL from DATABASE_URL; a dedicated database ``<name>_qualitybench`` is dropped, created and migrated on
  each run (and dropped at the end unless BENCH_KEEP_DB=1).
- One image project, 100 annotators (80 careful, 10 who always say 👍, 10 who click at random), 66,667 tasks of 4
  candidates (5 % of them gold): 800,004 votes (3 per candidate) and 200,001 best picks (3 per task), inserted
  straight in PostgreSQL with INSERT … SELECT over generate_series (minutes through the ORM; seconds this way).
- ``quality_report``: ``manage.py quality_report bench --format json`` in its own process, timed whole (Django's
  start included), which computes every figure fresh from the database; BENCH_REPORT_RUNS (3) runs, the first
  on the cold cache the seeding leaves, and the median is the figure.
- The page: the stored snapshot is computed once (as the Celery task does), then ``GET /p/bench/quality/`` by a
  logged-in manager through the README's production server (``manage.py serve``, DEBUG off, one worker process,
  the production middleware and session engine), BENCH_PAGE_REQUESTS (30) times after 3 warm-up requests.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/0 \
       .venv/bin/python bench/quality.py
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sessions import logged_in_session_key  # noqa: E402
from bench.vote_load import (  # noqa: E402
    free_port,
    production_env,
    recreate_database,
    serve_command,
    wait_until_serving,
)

ANNOTATORS = 100
ALWAYS_UP, RANDOM_CLICKERS = 10, 10
TASKS = 66_667
CANDIDATES = 4
OVERLAP = 3
PAGE_REQUESTS = int(os.environ.get("BENCH_PAGE_REQUESTS", "30"))
REPORT_RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "3"))
GOLD = '{"ratings": {"0": "good", "1": "bad", "2": "good", "3": "bad"}, "best": 0}'

# Annotator seat k (0…2) of a task's three: users[(task rank * 3 + k) % 100]. Users 1–10 always say 👍, 11–20 click
# at random, the others are right 90 % of the time about the truth (even candidates good, odd ones bad). Each
# person's judgements are spaced by their task rank, a few seconds apart.
SEED_SQL = [
    f"""INSERT INTO labeling_task (project_id, prompt, source, status, extra, gold, created_at, updated_at, queued_at)
        SELECT %(project)s, 'bench prompt ' || g, 'batch', 'ready', '{{}}',
               CASE WHEN g %% 20 = 0 THEN '{GOLD}'::jsonb END, now(), now(), now()
        FROM generate_series(1, {TASKS}) g""",  # noqa: S608 - constants of this script only
    f"""INSERT INTO labeling_candidate (task_id, uid, index, image, text, model_name, seed, params, uncertainty,
                                        review_state, review_reason, created_at)
        SELECT t.id, gen_random_uuid(), i, '', '', 'bench', i, '{{}}', '{{}}', 'n/a', '', now()
        FROM labeling_task t CROSS JOIN generate_series(0, {CANDIDATES - 1}) i WHERE t.project_id = %(project)s""",  # noqa: S608
    f"""INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at)
        SELECT u.ids[1 + (((t.id - m.first) * {OVERLAP} + k) %% {ANNOTATORS})], c.id,
               CASE WHEN ((t.id - m.first) * {OVERLAP} + k) %% {ANNOTATORS} < {ALWAYS_UP} THEN 1
                    WHEN ((t.id - m.first) * {OVERLAP} + k) %% {ANNOTATORS} < {ALWAYS_UP + RANDOM_CLICKERS}
                         THEN CASE WHEN random() < 0.5 THEN 1 ELSE -1 END
                    WHEN random() < 0.9 THEN CASE WHEN c.index %% 2 = 0 THEN 1 ELSE -1 END
                    ELSE CASE WHEN c.index %% 2 = 0 THEN -1 ELSE 1 END END,
               now() - interval '30 days' + (t.id - m.first) * interval '4 seconds' + c.index * interval '1 second',
               now() - interval '30 days' + (t.id - m.first) * interval '4 seconds' + c.index * interval '1 second'
        FROM labeling_candidate c JOIN labeling_task t ON t.id = c.task_id
        CROSS JOIN generate_series(0, {OVERLAP - 1}) k
        CROSS JOIN (SELECT min(id) AS first FROM labeling_task WHERE project_id = %(project)s) m
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user WHERE username LIKE 'bench-%%') u
        WHERE t.project_id = %(project)s""",  # noqa: S608
    f"""INSERT INTO labeling_preference (user_id, task_id, choice, chosen_id, created_at, updated_at)
        SELECT u.ids[1 + (((t.id - m.first) * {OVERLAP} + k) %% {ANNOTATORS})], t.id, 'best', c.id,
               now() - interval '30 days' + (t.id - m.first) * interval '4 seconds' + interval '3.5 seconds',
               now() - interval '30 days' + (t.id - m.first) * interval '4 seconds' + interval '3.5 seconds'
        FROM labeling_task t CROSS JOIN generate_series(0, {OVERLAP - 1}) k
        CROSS JOIN (SELECT min(id) AS first FROM labeling_task WHERE project_id = %(project)s) m
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user WHERE username LIKE 'bench-%%') u
        JOIN labeling_candidate c ON c.task_id = t.id
             AND c.index = CASE WHEN ((t.id - m.first) * {OVERLAP} + k) %% {ANNOTATORS} < {ALWAYS_UP} THEN 0
                                WHEN (t.id + k) %% 3 = 0 THEN 2 ELSE 0 END
        WHERE t.project_id = %(project)s""",  # noqa: S608
    "ANALYZE",
]


def seed() -> str:
    """The project, its people and their judgements; returns the manager's session key."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, connections, transaction

    from accounts.models import User
    from labeling.models import Membership, Project, Vote
    from labeling.models.counts import judgement_counts_recount

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    project = Project.objects.create(slug="bench", name="Bench", votes_per_candidate=OVERLAP)
    users = User.objects.bulk_create(
        User(username=f"bench-{n:03d}", password=make_password(None)) for n in range(ANNOTATORS)
    )
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)
    manager = User.objects.create(username="manager", password=make_password(None))
    Membership.objects.create(user=manager, project=project, role=Membership.Role.MANAGER)
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # Row by row, the judgement counts' triggers would take minutes here: off for the load, counted once after.
        cursor.execute("SET LOCAL session_replication_role = replica")
        for statement in SEED_SQL:
            cursor.execute(statement, {"project": project.pk} if "%(project)s" in statement else None)
    judgement_counts_recount()
    judgements = Vote.objects.count() + project.tasks.count() * OVERLAP
    print(f"seeded {judgements:,} judgements in {time.monotonic() - started:.1f} s", flush=True)

    session_key = logged_in_session_key(manager)
    connections.close_all()
    return session_key


def snapshot() -> float:
    """The stored figures the page reads, computed as the Celery task computes them; returns its seconds."""
    from django.db import connections

    from labeling.models import Project
    from quality.services import snapshot_compute

    stored = snapshot_compute(project=Project.objects.get(slug="bench"))
    connections.close_all()
    return stored.seconds


def fetch(url: str, session_key: str) -> tuple[float, int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session_key}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
        return (time.perf_counter() - started) * 1000, response.status, body


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/corral")
    parts = urlsplit(base_url)
    database_url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_qualitybench"))
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    var_dir = tempfile.mkdtemp(prefix="corral-qualitybench-")
    env = production_env(database_url, var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)

    recreate_database(database_url)
    try:
        session_key = seed()
        report_runs = []
        for _ in range(REPORT_RUNS):
            started = time.monotonic()
            report = subprocess.run(
                [sys.executable, "manage.py", "quality_report", "bench", "--format", "json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            report_runs.append(time.monotonic() - started)
        report_seconds = statistics.median(report_runs)
        runs = ", ".join(f"{seconds:.2f}" for seconds in report_runs)
        print(f"quality_report: {len(report.stdout):,} characters of JSON; runs {runs} s (first: cold cache)")
        print(f"snapshot computed in {snapshot():.2f} s (the background task's work)", flush=True)

        port = free_port()
        command = [*serve_command(port), "--workers", "1"]
        # Redis as in production (broker, channel layer): without it, serve would run the embedded worker too.
        server_env = {**env, "REDIS_URL": redis_url}
        server = subprocess.Popen(command, cwd=ROOT, env=server_env)
        try:
            wait_until_serving(port, server)
            url = f"http://127.0.0.1:{port}/p/bench/quality/"
            for _ in range(3):
                _ms, status, body = fetch(url, session_key)
                if status != 200 or b"Figures as of" not in body:
                    raise SystemExit(f"the Quality page answered {status} without its figures")
            times = [fetch(url, session_key)[0] for _ in range(PAGE_REQUESTS)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if os.environ.get("BENCH_KEEP_DB") != "1":
            recreate_database(database_url, create=False)

    print(
        f"page: {PAGE_REQUESTS} requests, median {statistics.median(times):.1f} ms, "
        f"max {max(times):.1f} ms; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print(f"quality_page_ms: {statistics.median(times):.1f}")
    print(f"quality_report_s: {report_seconds:.2f}")


if __name__ == "__main__":
    main()
