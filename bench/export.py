"""Export benchmark: 100,000 votes on 25,000 small PNGs into an empty Oxen repository, then 1,000 more votes
on 250 new images; compared with the raw oxen package adding and committing the same files.

    DEBUG=1 .venv/bin/python bench/export.py [--votes 100000] [--images 25000]

Runs on its own SQLite database and folders in a temporary directory (set DATABASE_URL to use PostgreSQL:
its tables are flushed first). Each measured step runs in a spawned child process, so that ``peak_rss_mb`` is
the export's own peak, Django and the oxen package included; the incremental steps run in a child that has
already exported once, as the beat's long-lived worker has.
"""

import argparse
import io
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# Spawned children re-import this module: they find the parent's folder in the environment.
if "CORRAL_BENCH_WORK" not in os.environ:
    os.environ["CORRAL_BENCH_WORK"] = tempfile.mkdtemp(prefix="corral-bench-export-")
WORK = Path(os.environ["CORRAL_BENCH_WORK"])
os.environ["CORRAL_VAR_DIR"] = str(WORK / "var")
os.environ["MEDIA_ROOT"] = str(WORK / "media")
os.environ["OXEN_REPO_PATH"] = str(WORK / "dataset")
os.environ["OXEN_CONFIG_DIR"] = str(WORK / "oxen-config")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
for name in ("OXEN_REMOTE", "OXEN_API_KEY", "REDIS_URL"):
    os.environ.pop(name, None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

import oxen  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from PIL import Image  # noqa: E402

from accounts.models import User  # noqa: E402
from exports.models import ExportedImage, ExportedRow, ExportRun  # noqa: E402
from exports.repository import repo_open  # noqa: E402
from exports.run import export_run  # noqa: E402
from labeling.models import Candidate, Project, Task, Vote  # noqa: E402

VOTERS = 4


def png(number: int) -> bytes:
    """A distinct 8×8 PNG per number, so no two images share content."""
    buffer = io.BytesIO()
    pixels = number.to_bytes(3, "big") * 64
    Image.frombytes("RGB", (8, 8), pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_feedback(project: Project, *, first_image: int, images: int, votes: int) -> None:
    media = Path(settings.MEDIA_ROOT) / "candidates"
    media.mkdir(parents=True, exist_ok=True)
    users = list(User.objects.order_by("pk")[:VOTERS])
    tasks = Task.objects.bulk_create(
        Task(project=project, prompt=f"prompt {first_image + n}", source=Task.Source.BATCH, status="ready")
        for n in range(0, images, 4)
    )
    candidates = []
    for n in range(images):
        name = f"candidates/bench-{first_image + n}.png"
        (media / f"bench-{first_image + n}.png").write_bytes(png(first_image + n))
        candidates.append(
            Candidate(
                task=tasks[n // 4],
                index=n % 4,
                image=name,
                model_name="bench-sd",
                seed=n,
                params={"steps": 30, "guidance": 7.5},
            )
        )
    candidates = Candidate.objects.bulk_create(candidates, batch_size=2000)
    Vote.objects.bulk_create(
        (
            Vote(user=users[n // images], candidate=candidates[n % images], value=1 if n % 3 else -1)
            for n in range(votes)
        ),
        batch_size=5000,
    )


def _measured(function, args):
    return function(*args), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_process() -> ProcessPoolExecutor:
    """A fresh process; spawned rather than forked: oxen's and pyarrow's thread pools do not survive a fork."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def in_child(function, *args, pool: ProcessPoolExecutor | None = None):
    """Run ``function(*args)`` in ``pool``'s process or a fresh one; return (its result, its peak RSS in MiB)."""
    if pool is not None:
        return pool.submit(_measured, function, args).result()
    with child_process() as fresh:
        return fresh.submit(_measured, function, args).result()


def timed_export(repo_path: str, project_id: int | None = None) -> float:
    settings.OXEN_REPO_PATH = Path(repo_path)
    project = Project.objects.get(pk=project_id) if project_id else None
    started = time.perf_counter()
    run = export_run(project=project)
    elapsed = time.perf_counter() - started
    assert run is not None and run.status == ExportRun.Status.SUCCEEDED, run and run.error_message
    return elapsed


def open_repo(repo_path: str) -> None:
    settings.OXEN_REPO_PATH = Path(repo_path)
    repo_open()


def timed_raw_oxen(source: str, target: str, batch: str) -> float:
    """The raw package on the same files: init, add the batch's paths, commit."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".oxen"))
    started = time.perf_counter()
    repo = oxen.Repo(target).init()
    repo.add(os.path.join(target, "images", batch))
    repo.add(os.path.join(target, "votes", f"{batch}.parquet"))
    repo.add(os.path.join(target, "README.md"))
    repo.commit("raw oxen")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=25_000)
    parser.add_argument("--new-votes", type=int, default=1_000)
    parser.add_argument("--new-images", type=int, default=250)
    options = parser.parse_args()
    print(f"working in {WORK} on {connections['default'].vendor}", flush=True)

    call_command("migrate", verbosity=0)
    if settings.DATABASE_URL:
        call_command("flush", interactive=False, verbosity=0)
    for n in range(VOTERS):
        User.objects.create_user(f"bench-{n}")
    history = Project.objects.create(slug="bench", name="Bench")
    started = time.perf_counter()
    make_feedback(history, first_image=0, images=options.images, votes=options.votes)
    print(f"setup: {options.votes} votes on {options.images} images in {time.perf_counter() - started:.1f}s")

    full_s, full_rss = in_child(timed_export, str(settings.OXEN_REPO_PATH))
    batch = ExportRun.objects.get().batch
    raw_s, raw_rss = in_child(timed_raw_oxen, settings.OXEN_REPO_PATH, str(WORK / "raw"), batch)

    # Scheduled exports run in a long-lived worker: each incremental export is measured in a process that has
    # already exported (its imports, pyarrow's first-write imports included, database connection and repository
    # are warm); here a first export of one image's four votes.
    warm_up = Project.objects.create(slug="bench-warm-up", name="Bench warm-up")
    make_feedback(warm_up, first_image=options.images, images=1, votes=4)
    fresh = Project.objects.create(slug="bench-new", name="Bench new")
    with child_process() as worker:
        in_child(timed_export, str(settings.OXEN_REPO_PATH), pool=worker)
        make_feedback(fresh, first_image=options.images + 1, images=options.new_images, votes=options.new_votes)
        incremental_s, incremental_rss = in_child(timed_export, str(settings.OXEN_REPO_PATH), pool=worker)
    last = ExportRun.objects.order_by("-pk").first()

    # The same 1,000 votes into an empty repository: forget that they were exported, export that project alone.
    empty = str(WORK / "empty-dataset")
    with child_process() as worker:
        in_child(open_repo, empty, pool=worker)
        in_child(timed_export, empty, fresh.pk, pool=worker)
        ExportedRow.objects.filter(run=last).delete()
        ExportedImage.objects.filter(run=last).delete()
        empty_s, empty_rss = in_child(timed_export, empty, fresh.pk, pool=worker)

    print(f"raw_oxen_peak_rss_mb: {raw_rss:.0f}")
    print(f"full_s: {full_s:.2f}")
    print(f"raw_oxen_s: {raw_s:.2f}")
    print(f"full_ratio: {full_s / raw_s:.2f}")
    print(f"incremental_s: {incremental_s:.3f}")
    print(f"incremental_empty_s: {empty_s:.3f}")
    print(f"incremental_ratio: {incremental_s / empty_s:.2f}")
    print(f"peak_rss_mb: {max(full_rss, incremental_rss, empty_rss):.0f}")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
