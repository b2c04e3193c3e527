"""Leaderboard and dashboard benchmark: an arena of 10 models with 1,000,000 judgements (picks of the better
of two candidates, 5 % ties) by 200 annotators over 60 days, built straight in PostgreSQL.

    DATABASE_URL=postgres://… .venv/bin/python bench/leaderboard.py [--judgements 1000000]

Prints ``leaderboard_s`` (the worker's computation: comparisons counted in the database, the Bradley–Terry fit
and its bootstrap intervals, stored), ``dashboard_compute_s`` (the dashboard's aggregates, in the background
too) and ``dashboard_ms`` (the median time of the dashboard page through Django's whole stack with Django's test
client, read from the cached figures, after one warm-up; DEBUG on unless set). The bench's rows are deleted at
the end.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
# Development settings: the dashboard's {% static %} tags need no collected manifest.
os.environ.setdefault("DEBUG", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from labeling.models import Membership, Project  # noqa: E402
from quality.figures import figures_compute  # noqa: E402

SLUG = "bench-leaderboard"
MODELS = [f"model-{n:02d}" for n in range(10)]
ANNOTATORS = 200
JUDGEMENTS_PER_TASK = 2
PAGE_RUNS = 20


def build(judgements: int) -> Project:
    """Tasks of two candidates from two different models, and two judgements of each, in a few statements."""
    project = Project.objects.create(
        slug=SLUG,
        name="Bench arena",
        kind=Project.Kind.IMAGE,
        candidates_per_task=2,
        arena_models="\n".join(MODELS),
    )
    users = User.objects.bulk_create(User(username=f"bench-lb-{n}", password="!") for n in range(ANNOTATORS))
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)
    first_user = min(user.pk for user in users)
    tasks = judgements // JUDGEMENTS_PER_TASK
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO labeling_task (project_id, prompt, source, status, extra, created_at, updated_at, queued_at) "
            "SELECT %s, 'bench prompt ' || g, 'batch', 'complete', '{}', "
            "now() - (g %% 60) * interval '1 day' - interval '2 hours', now() - (g %% 60) * interval '1 day', "
            "now() - (g %% 60) * interval '1 day' - interval '2 hours' "
            "FROM generate_series(1, %s) g",
            [project.pk, tasks],
        )
        # Model a is task id mod 10; model b another one, by a second hash; both orders on screen occur.
        cursor.execute(
            "INSERT INTO labeling_candidate (task_id, uid, index, image, text, model_name, params, uncertainty, "
            "review_state, review_reason, created_at) "
            "SELECT t.id, gen_random_uuid(), i.position, '', '', (%s::text[])[1 + CASE WHEN i.position = (t.id %% 2) "
            "THEN t.id %% 10 ELSE (t.id %% 10 + 1 + (t.id / 10) %% 9) %% 10 END], "
            "'{}', '{}', 'n/a', '', t.created_at "
            "FROM labeling_task t CROSS JOIN (VALUES (0), (1)) AS i(position) WHERE t.project_id = %s",
            [MODELS, project.pk],
        )
        # Model n's true strength is 0.2·n: the winner is drawn as Bradley–Terry says; 5 % are ties.
        cursor.execute(
            "INSERT INTO labeling_preference (user_id, task_id, choice, chosen_id, created_at, updated_at) "
            "SELECT %s + (t.id * 7 + j) %% %s, t.id, CASE WHEN r.tie THEN 'tie' ELSE 'best' END, "
            "CASE WHEN r.tie THEN NULL WHEN r.u < 1 / (1 + exp(0.2 * (sb.n - sa.n))) THEN a.id ELSE b.id END, "
            "t.created_at + interval '1 hour', t.created_at + interval '1 hour' "
            "FROM labeling_task t CROSS JOIN generate_series(0, %s) j "
            "JOIN labeling_candidate a ON a.task_id = t.id AND a.index = 0 "
            "JOIN labeling_candidate b ON b.task_id = t.id AND b.index = 1 "
            "CROSS JOIN LATERAL (SELECT random() < 0.05 AS tie, random() AS u, j AS k) r "
            "CROSS JOIN LATERAL (SELECT array_position(%s::text[], a.model_name) AS n) sa "
            "CROSS JOIN LATERAL (SELECT array_position(%s::text[], b.model_name) AS n) sb "
            "WHERE t.project_id = %s",
            [first_user, ANNOTATORS, JUDGEMENTS_PER_TASK - 1, MODELS, MODELS, project.pk],
        )
        cursor.execute("ANALYZE")
    return project


def clean_up(project_id: int) -> None:
    with connection.cursor() as cursor:
        tasks = "SELECT id FROM labeling_task WHERE project_id = %s"
        cursor.execute(f"DELETE FROM labeling_preference WHERE task_id IN ({tasks})", [project_id])  # noqa: S608
        cursor.execute(f"DELETE FROM labeling_candidate WHERE task_id IN ({tasks})", [project_id])  # noqa: S608
        cursor.execute("DELETE FROM labeling_task WHERE project_id = %s", [project_id])
    Project.objects.filter(pk=project_id).delete()
    User.objects.filter(username__startswith="bench-lb-").delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--judgements", type=int, default=1_000_000)
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the bench builds its rows with PostgreSQL's SQL.")
    call_command("migrate", verbosity=0)
    left_over = Project.objects.filter(slug=SLUG).first()
    if left_over is not None:
        clean_up(left_over.pk)
    started = time.monotonic()
    project = build(arguments.judgements)
    print(f"built {arguments.judgements} judgements in {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        started = time.monotonic()
        leaderboard = figures_compute(project_id=project.pk, kind="leaderboard")
        leaderboard_s = time.monotonic() - started
        print(f"comparisons: {leaderboard.data['comparisons']}")
        print(f"leaderboard_s: {leaderboard_s:.2f}", flush=True)
        started = time.monotonic()
        figures_compute(project_id=project.pk, kind="dashboard")
        print(f"dashboard_compute_s: {time.monotonic() - started:.2f}", flush=True)

        manager = User.objects.create_user("bench-lb-manager", password="!")
        Membership.objects.create(user=manager, project=project, role=Membership.Role.MANAGER)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(manager)
        url = f"/p/{SLUG}/dashboard"
        assert client.get(url).status_code == 200
        times = []
        for _ in range(PAGE_RUNS):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        top = leaderboard.data["models"][:3]
        print("top three: " + ", ".join(f"{e['model']} {e['rating']}" for e in top), file=sys.stderr)
        print(f"dashboard_ms: {1000 * statistics.median(times):.1f}")
    finally:
        clean_up(project.pk)


if __name__ == "__main__":
    main()
