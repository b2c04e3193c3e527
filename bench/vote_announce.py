"""What announcing task completions (webhooks) costs each vote: ``vote_cast`` in this process on PostgreSQL, in
alternating blocks with the webhook receiver connected (the completing update in its own transaction with the
announcement, as served) and disconnected (nobody listens: the update alone, in autocommit).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral .venv/bin/python bench/vote_announce.py

Uses a database ``<name>_announcebench``, dropped and created on each run. The overlap is 3 and every candidate
gets three votes, so a third of the votes complete a task (and are announced) when a webhook is registered
(``--webhook``: one endpoint for task.completed; its deliveries are written, not sent). Prints the median time
per vote of each mode over BENCH_BLOCKS (10) blocks of BENCH_BLOCK_VOTES (300).
"""

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.vote_load import recreate_database  # noqa: E402

BLOCKS = int(os.environ.get("BENCH_BLOCKS", "10"))
BLOCK_VOTES = int(os.environ.get("BENCH_BLOCK_VOTES", "300"))
OVERLAP = 3


def main() -> None:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server.")
    parts = urlsplit(base)
    url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_announcebench"))
    recreate_database(url)
    os.environ.update(DATABASE_URL=url, DEBUG="0", SECRET_KEY="bench-" * 10, ALLOWED_HOSTS="127.0.0.1")
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from api.webhooks.models import WebhookEndpoint
    from api.webhooks.receivers import on_task_completed
    from labeling.models import Candidate, Membership, Project, Task
    from labeling.signals import task_completed
    from labeling.votes import vote_cast

    project = Project.objects.create(slug="bench", name="Bench", votes_per_candidate=OVERLAP, candidates_per_task=4)
    if "--webhook" in sys.argv:
        WebhookEndpoint.objects.create(project=project, url="https://hooks.example.org/", events=["task.completed"])
    users = [User.objects.create_user(f"annotator{n}") for n in range(OVERLAP)]
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)
    candidates_needed = 2 * BLOCKS * BLOCK_VOTES // OVERLAP + 4
    tasks = Task.objects.bulk_create(
        Task(project=project, prompt=f"prompt {n}", source="batch", status="ready")
        for n in range(candidates_needed // 4)
    )
    candidates = Candidate.objects.bulk_create(Candidate(task=task, index=i) for task in tasks for i in range(4))
    uids = [candidate.uid for candidate in candidates]
    # Each candidate's three votes in a row: the third completes the task when it is its task's last candidate.
    votes = iter([(user, uid) for uid in uids for user in users])

    timings: dict[str, list[float]] = {"with_listener": [], "without_listener": []}
    for block in range(2 * BLOCKS):
        mode = "with_listener" if block % 2 == 0 else "without_listener"
        if mode == "without_listener":
            task_completed.disconnect(dispatch_uid="api.webhooks.task_completed")
        started = time.perf_counter()
        for _ in range(BLOCK_VOTES):
            user, uid = next(votes)
            vote_cast(user=user, candidate_uid=uid, value="up")
        timings[mode].append((time.perf_counter() - started) / BLOCK_VOTES * 1e6)
        task_completed.connect(on_task_completed, dispatch_uid="api.webhooks.task_completed")

    complete = Task.objects.filter(status=Task.Status.COMPLETE).count()
    webhook = "--webhook" in sys.argv
    print(f"{2 * BLOCKS * BLOCK_VOTES} votes, {complete} tasks completed; webhook registered: {webhook}")
    for mode, values in timings.items():
        print(f"vote_us_{mode}: {statistics.median(values):.0f}")
    from django.db import connections

    connections.close_all()
    recreate_database(url, create=False)


if __name__ == "__main__":
    main()
