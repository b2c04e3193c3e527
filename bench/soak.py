"""Soak: 64 annotators and 4 reviewers for SOAK_SECONDS (600) on the production setup, exporting every minute.

Setup, all real processes launched the way the README's "Production" section says:

- PostgreSQL from DATABASE_URL: a dedicated database ``<name>_soak`` is dropped, created, migrated and
  seeded on each run (dropped at the end unless SOAK_KEEP=1); Redis from REDIS_URL (its Celery queues
  are purged at start); a fresh temporary var dir holding media and a new Oxen repository.
- ``manage.py serve --workers SOAK_WORKERS`` (2), ``celery -A corral worker -Q default``,
  ``celery -A corral worker -Q exports --concurrency 1`` and ``celery -A corral beat`` with
  EXPORT_INTERVAL_SECONDS=60, so the real export task runs every minute on the exports worker while
  people work; LOG_FORMAT=json, LOG_LEVEL=INFO, the logs go to files in the var dir.

Load (one asyncio process speaking raw HTTP/1.1 on keep-alive connections, logged-in sessions):

- each annotator presses "Next task", opens the task page and its 4 images, picks (best 80 %, tie 10 %,
  all bad 10 %), votes 👍/👎 on every candidate and, one time in ten, flips one of those votes;
- each reviewer takes the next answer from the review queue, opens it and accepts (50 %), corrects (30 %)
  or rejects (20 %) it;
- everybody arrives at a random moment of the first SOAK_RAMP_SECONDS (10), as a load tool's spawn rate spreads
  its users, and thinks SOAK_THINK_SECONDS (1.0, ±50 %) between actions; an empty queue is waited out;
- ``/healthz`` is polled once a second on a fresh connection, as a load balancer does;
- ``VACUUM ANALYZE`` runs after seeding and ``ANALYZE`` every minute of the load, standing in for autovacuum,
  which this machine's PostgreSQL runs without (a real server's would analyse the growing tables on its own).

Figures:

- ``requests``: responses to the simulated people; ``errors_5xx``: those with a 5xx status (health
  polls are counted apart: ``healthz_non_200``); ``other_failures``: unexpected other statuses, broken
  connections and timeouts (30 s); ``p95_ms``: 95th percentile latency of all their requests.
- RSS of every server and worker process (psutil, the launched processes and their children, sampled
  every 5 s) at the start of the load, at its baseline and at the end of the load. The baseline is the
  sample SOAK_WARMUP_SECONDS after the start (default: a fifth of the run, at most 120 s), when imports,
  connection pools and caches have settled; for a worker process whose first export ended later (the
  worker's JSON task lines name the process), the sample right after that export. ``rss_growth_pct``
  is the largest (end − baseline) / baseline of any process.
- After the load, beat and the workers stop, one last export runs (``manage.py export_oxen``),
  and the database is compared with the Oxen dataset as a reader sees it: the part files of the batches
  whose commits are in the repository's log, newest ``updated_at`` winning per id (as the dataset card
  says). Every database row is compared at its current version (id and ``updated_at`` to the
  microsecond): a vote and a review by id, rating or decision included; a correction also by its
  ``text_dpo`` row ``review:<id>``; a preference by its ``preference_id``, whose newest rows must carry
  its ``updated_at`` and number 3 for "best" of 4, 6 for "tie" (an "all bad" pick writes none).
  ``lost_rows``: database rows whose current version is not the newest in the dataset (missing or
  older). ``duplicated_rows``: dataset rows repeating an (id, ``updated_at``) already written, in any
  table (the same version exported twice; so the newest view can hold an id only once).
  ``phantom_rows``: ids whose newest dataset version is not in the database.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/14 \\
       SOAK_SECONDS=600 .venv/bin/python bench/soak.py
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.soak_config import (  # noqa: E402
    ANNOTATORS,
    RAMP_SECONDS,
    REVIEWERS,
    ROOT,
    SECONDS,
    THINK_SECONDS,
    WARMUP_SECONDS,
    WORKERS,
)
from bench.soak_dataset import compare, final_export  # noqa: E402
from bench.soak_load import UPKEEP_SECONDS, run_load  # noqa: E402
from bench.soak_processes import first_exports, rss_figures, stop, wait_until_healthy  # noqa: E402
from bench.soak_seed import seed  # noqa: E402
from bench.vote_load import free_port, production_env, recreate_database, serve_command, vacuum_analyze  # noqa: E402


def percentile_ms(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def count_log_lines(path: Path, event: str) -> int:
    marker = f'"event": "{event}"'
    with open(path, encoding="utf-8", errors="replace") as log:
        return sum(marker in line for line in log)


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or not redis_url.startswith("redis://"):
        raise SystemExit(
            "Set DATABASE_URL to a PostgreSQL server and REDIS_URL to a Redis database the soak may use, e.g. "
            "postgres://postgres@127.0.0.1:5432/corral and redis://127.0.0.1:6379/14"
        )
    parts = urlsplit(base_url)
    database_url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_soak"))
    var_dir = Path(tempfile.mkdtemp(prefix="corral-soak-"))
    env = production_env(database_url, str(var_dir))
    env.pop("OXEN_REMOTE", None)  # never push the soak's dataset anywhere
    repo_path = var_dir / "oxen-dataset"
    env.update(
        MEDIA_ROOT=str(var_dir / "media"),
        OXEN_REPO_PATH=str(repo_path),
        OXEN_CONFIG_DIR=str(var_dir / "oxen-config"),
        REDIS_URL=redis_url,
        CHANNEL_LAYER_PREFIX=f"soak{os.getpid()}",
        EXPORT_INTERVAL_SECONDS="60",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    os.environ.update({key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    os.environ["LOG_LEVEL"] = "WARNING"  # this process's own export and queries stay quiet

    print(f"preparing {database_url.rsplit('/', 1)[-1]} and {var_dir}", flush=True)
    recreate_database(database_url)
    annotators, reviewers = seed(var_dir / "media")
    vacuum_analyze(database_url)
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "corral", "purge", "-f", "-Q", "default,exports,gpu"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip

    port = free_port()
    commands = {
        "server": [*serve_command(port), "--workers", str(WORKERS)],
        "worker": [sys.executable, "-m", "celery", "-A", "corral", "worker", "-Q", "default",
                   "--hostname", "soak-default@%h"],
        "exports": [sys.executable, "-m", "celery", "-A", "corral", "worker", "-Q", "exports",
                    "--concurrency", "1", "--hostname", "soak-exports@%h"],
        "beat": [sys.executable, "-m", "celery", "-A", "corral", "beat"],
    }  # fmt: skip
    launched: dict[str, subprocess.Popen] = {}
    try:
        for role, command in commands.items():
            with open(var_dir / f"{role}.log", "wb") as log:
                launched[role] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        wait_until_healthy(port, launched)
        print(
            f"server: manage.py serve, {WORKERS} processes; workers -Q default and -Q exports; "
            f"beat, exports every 60 s; "
            f"{ANNOTATORS} annotators, {REVIEWERS} reviewers arriving over {RAMP_SECONDS:.0f} s, "
            f"think {THINK_SECONDS} s; {SECONDS:.0f} s, "
            f"memory baseline after {WARMUP_SECONDS:.0f} s; VACUUM ANALYZE after seeding and ANALYZE "
            f"every {UPKEEP_SECONDS:.0f} s, as autovacuum would (off on this machine); {os.cpu_count()} CPUs, "
            f"load average before {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        import uvloop

        stats, pids, samples = uvloop.run(
            run_load(port, annotators, reviewers, launched, upkeep=lambda: vacuum_analyze(database_url, vacuum=False))
        )

        stop(launched.pop("beat"))
        # A warm shutdown lets a running export finish; one still running after 2 minutes is hung.
        stop(launched.pop("worker"))
        worker_stopped = stop(launched.pop("exports"), timeout=120)
        from exports.models import ExportRun

        runs = {status: ExportRun.objects.filter(status=status).count() for status in ExportRun.Status.values}
        final_export(env)
        result = compare(repo_path)
    finally:
        for popen in launched.values():
            stop(popen)
        keep = os.environ.get("SOAK_KEEP") == "1"
        if not keep:
            from django.db import connections

            connections.close_all()
            recreate_database(database_url, create=False)

    growth = {}
    figures = rss_figures(pids, samples, first_exports(var_dir / "exports.log"))
    print("rss_mb (start / baseline / end):")
    for pid, role in sorted(pids.items(), key=lambda item: item[1]):
        sizes = figures[pid]
        shown = " / ".join(f"{size:.0f}" if size is not None else "-" for size in sizes)
        print(f"  {role} [{pid}]: {shown}")
        if sizes[1] and sizes[2]:
            growth[pid] = 100 * (sizes[2] - sizes[1]) / sizes[1]
    request_lines = count_log_lines(var_dir / "server.log", "request")
    if not keep:
        shutil.rmtree(var_dir, ignore_errors=True)
    else:
        print(f"kept {var_dir} and {database_url.rsplit('/', 1)[-1]}")

    for heading, groups in (("page", stats.by_kind), ("minute of the load", stats.by_minute)):
        print(f"p50 / p95 ms (requests) by {heading}:")
        for name, latencies in sorted(groups.items()):
            p50, p95 = percentile_ms(latencies, 0.5), percentile_ms(latencies, 0.95)
            print(f"  {name}: {p50:.1f} / {p95:.1f} ({len(latencies)})")
    print(f"failure samples: {stats.samples}")
    print(f"healthz samples: {stats.healthz_samples}")
    print(f"exports during the run: {runs}")
    print(f"exports worker stopped by SIGTERM within 2 minutes: {'yes' if worker_stopped else 'no, killed'}")
    print(f"dataset checked: {result['votes']} votes, {result['preferences']} picks, {result['reviews']} reviews")
    print(f"request_log_lines: {request_lines}")
    print(f"other_failures: {stats.other_failures}")
    print(f"empty_queue: {stats.empty_queue}")
    print(f"healthz_polls: {stats.healthz_polls}")
    print(f"healthz_non_200: {stats.healthz_non_200}")
    print(f"phantom_rows: {result['phantom']}")
    print(f"uncommitted_parts: {result['uncommitted']}")
    print(f"requests: {len(stats.latencies)}")
    print(f"errors_5xx: {stats.errors_5xx}")
    print(f"p95_ms: {percentile_ms(stats.latencies, 0.95):.1f}")
    print(f"lost_rows: {result['lost']}")
    print(f"duplicated_rows: {result['duplicated']}")
    print(f"rss_growth_pct: {max(growth.values()) if growth else float('nan'):.1f}")


if __name__ == "__main__":
    main()
