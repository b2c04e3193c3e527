"""What the audit trail adds to a vote's own statement on PostgreSQL, measured in one process so that a busy
machine slows both forms alike, and in the CPU time of the PostgreSQL backend that runs them, which a busy machine
does not inflate.

The vote's upsert (``labeling.votes.VOTE_UPSERT_SQL``) and the same upsert with its history row written by the
same statement (``VOTE_UPSERT_WITH_HISTORY_SQL``, what a vote runs) are executed in autocommit, as the vote path
runs them, in alternating blocks of BENCH_BLOCK (500) statements for BENCH_ROUNDS (20) rounds each; each statement
casts the next of BENCH_USERS (32) annotators' votes on BENCH_CANDIDATES (800) candidates (new votes, as most
votes are; 👎 over 👍 once every vote is cast), so the tables grow as under real voting. Figures: the median
block's wall time per statement, the backend's CPU time per statement (user + system, summed over all blocks),
and the history's share on top of each.

A dedicated database ``<name>_historybench`` is dropped, created and migrated on each run, and dropped at the end.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral .venv/bin/python bench/vote_history.py
"""

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.vote_load import recreate_database  # noqa: E402

BLOCK = int(os.environ.get("BENCH_BLOCK", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
USERS = int(os.environ.get("BENCH_USERS", "32"))
CANDIDATES = int(os.environ.get("BENCH_CANDIDATES", "800"))


def bench_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "corral"
    return urlunsplit(parts._replace(path=f"/{name}_historybench"))


def seed():
    from django.core.management import call_command

    from accounts.models import User
    from labeling.models import Candidate, Membership, Project, Task

    call_command("migrate", verbosity=0)
    project = Project.objects.create(slug="bench", name="Bench", votes_per_candidate=3, candidates_per_task=4)
    users = User.objects.bulk_create(User(username=f"bench{n}") for n in range(USERS))
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)
    tasks = Task.objects.bulk_create(
        Task(project=project, prompt=f"vote {n}", source=Task.Source.BATCH, status=Task.Status.READY)
        for n in range(CANDIDATES // 4)
    )
    candidates = Candidate.objects.bulk_create(Candidate(task=task, index=i) for task in tasks for i in range(4))
    return users, candidates


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/corral")
    database_url = bench_database_url(base_url)
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="corral.settings", DEBUG="0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    recreate_database(database_url)
    try:
        import django

        django.setup()
        from django.db import connection

        from labeling.votes import VOTE_UPSERT_SQL, VOTE_UPSERT_WITH_HISTORY_SQL, db_now, judging_params

        users, candidates = seed()
        votes = [(user, candidate.uid) for user in users for candidate in candidates]
        position = 0
        timings: dict[str, list[float]] = {"plain": [], "history": []}
        cpu_seconds = {"plain": 0.0, "history": 0.0}
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = psutil.Process(cursor.fetchone()[0])
            for _round in range(ROUNDS):
                for name, sql in (("plain", VOTE_UPSERT_SQL), ("history", VOTE_UPSERT_WITH_HISTORY_SQL)):
                    block = []
                    for _ in range(BLOCK):
                        user, uid = votes[position % len(votes)]
                        value = 1 if (position // len(votes)) % 2 == 0 else -1
                        position += 1
                        block.append({**judging_params(user=user, uid=uid), "value": value, "now": db_now()})
                    started, cpu_before = time.perf_counter(), backend.cpu_times()
                    for params in block:
                        cursor.execute(sql, params)
                        cursor.fetchone()
                    timings[name].append((time.perf_counter() - started) / BLOCK * 1000)
                    cpu_after = backend.cpu_times()
                    cpu_seconds[name] += cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system
            cursor.execute("SELECT COUNT(*) FROM labeling_historicalvote")
            (history_rows,) = cursor.fetchone()
        connection.close()
    finally:
        recreate_database(database_url, create=False)

    plain, history = statistics.median(timings["plain"]), statistics.median(timings["history"])
    print(f"{ROUNDS} rounds of {BLOCK} statements each; {history_rows} history rows written", flush=True)
    print(f"vote_statement_ms: {plain:.3f}")
    print(f"vote_statement_with_history_ms: {history:.3f}")
    print(f"history_overhead: {history / plain - 1:.2f}")
    plain_cpu, history_cpu = (cpu_seconds[name] / (ROUNDS * BLOCK) * 1000 for name in ("plain", "history"))
    print(f"vote_statement_db_cpu_ms: {plain_cpu:.3f}")
    print(f"vote_statement_with_history_db_cpu_ms: {history_cpu:.3f}")
    print(f"history_db_cpu_overhead: {history_cpu / plain_cpu - 1:.2f}")


if __name__ == "__main__":
    main()
