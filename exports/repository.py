"""The Oxen dataset repository: open it, commit a run's batch, settle an unfinished run from the log, push."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from exports.crash import checkpoint
from exports.models import ExportedAnnotator, ExportedImage, ExportedRow, ExportRun
from exports.signals import export_run_finish
from exports.tables.contract import IMAGE_COLUMNS, IMAGE_RENDER_METADATA, TABLES, dataset_card
from exports.tables.leaderboard import published_leaderboards

if TYPE_CHECKING:
    import oxen

logger = logging.getLogger(__name__)

COMMIT_PREFIX = "Corral export "
REMOTE_NAME = "origin"


def _oxen():
    """liboxen, imported on first use: importing it starts threads, and a prefork Celery worker imports the
    task modules before forking its pool; a child inherits none of those threads, and oxen's folder add then
    waits for them forever (tests/exports/test_forked_worker.py)."""
    import oxen

    return oxen


def _configure_oxen() -> None:
    oxen = _oxen()
    config_dir = Path(settings.OXEN_CONFIG_DIR)
    config_dir.mkdir(parents=True, exist_ok=True)
    # liboxen reads the author and hub tokens from OXEN_CONFIG_DIR at each call.
    os.environ["OXEN_CONFIG_DIR"] = str(config_dir)
    oxen.user.config_user(settings.OXEN_AUTHOR_NAME, settings.OXEN_AUTHOR_EMAIL, str(config_dir / "user_config.toml"))
    if settings.OXEN_REMOTE and settings.OXEN_API_KEY:
        host = urlsplit(settings.OXEN_REMOTE).netloc
        oxen.auth.auth.config_auth(host, settings.OXEN_API_KEY, str(config_dir / "auth_config.toml"))


class ExportRepositoryBusy(Exception):
    """Another process holds the Oxen repository: liboxen keeps its refs database locked for the life of the
    process that opened it, so every export must run in the one process that owns the repository."""


def repo_open() -> oxen.Repo:
    """The local dataset repository, created with an initial README commit on first use."""
    try:
        return _repo_open()
    except ValueError as exc:
        if "LOCK" not in str(exc):
            raise
        raise ExportRepositoryBusy(
            f"The Oxen repository {settings.OXEN_REPO_PATH} is held by another process (the exports worker, or "
            "`manage.py serve` in the embedded mode): liboxen keeps it locked for as long as that process lives. "
            "Queue the export for that process instead (`export_oxen --queue`, or the admin's Export now)."
        ) from exc


def _repo_open() -> oxen.Repo:
    _configure_oxen()
    oxen = _oxen()
    path = Path(settings.OXEN_REPO_PATH)
    if not (path / ".oxen").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        repo = oxen.Repo(str(path)).init()
        (path / "README.md").write_text(dataset_card(counts={}))
        repo.add(str(path / "README.md"))
        repo.commit("Initialise the Corral dataset")
    repo = oxen.Repo(str(path))
    if repo.current_branch.name != settings.OXEN_BRANCH:
        repo.checkout(settings.OXEN_BRANCH, create=not repo.branch_exists(settings.OXEN_BRANCH))
    return repo


def _commit_message(run: ExportRun) -> str:
    return f"{COMMIT_PREFIX}{run.batch} (run {run.pk})"


def _find_commit(repo: oxen.Repo, batch: str) -> str:
    marker = f"{COMMIT_PREFIX}{batch} "
    return next((commit.id for commit in repo.log() if commit.message.startswith(marker)), "")


def _batch_paths(batch: str) -> list[str]:
    return [f"images/{batch}", *(f"{table}/{batch}.parquet" for table in TABLES)]


def _discard_batch(repo: oxen.Repo, run: ExportRun) -> None:
    """Unstage and delete whatever an uncommitted run wrote, and drop its ledger rows."""
    root = Path(settings.OXEN_REPO_PATH)
    for relative in [*_batch_paths(run.batch), "README.md"]:
        repo.restore(relative, staged=True)
    repo.restore("README.md")
    for relative in _batch_paths(run.batch):
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    ExportedRow.objects.filter(run=run).delete()
    ExportedImage.objects.filter(run=run).delete()
    ExportedAnnotator.objects.filter(run=run).delete()


def settle(repo: oxen.Repo, run: ExportRun, *, reason: str) -> None:
    """Decide from the Oxen log whether an unfinished run committed, and finish it either way."""
    commit_id = _find_commit(repo, run.batch)
    if commit_id:
        run.status, run.commit_id = ExportRun.Status.SUCCEEDED, commit_id
        run.error_message = ""
    else:
        _discard_batch(repo, run)
        run.status, run.error_message = ExportRun.Status.FAILED, reason
    run.finished_at = timezone.now()
    export_run_finish(run, update_fields=["status", "commit_id", "error_message", "finished_at"])


def _dataset_totals() -> dict[str, int]:
    totals = dict.fromkeys([*TABLES, "images"], 0)
    for counts in ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED).values_list("counts", flat=True):
        for key in totals:
            totals[key] += counts.get(key, 0)
    return totals


def commit_batch(repo: oxen.Repo, run: ExportRun, counts: dict[str, int]) -> str:
    """Regenerate README.md, add the run's batch and commit it with the batch id in the message."""
    root = Path(settings.OXEN_REPO_PATH)
    totals = _dataset_totals()
    leaderboards = [(s.project.slug, s.data["models"], s.changed_at) for s in published_leaderboards(run)]
    card = dataset_card(counts={k: totals[k] + counts[k] for k in totals}, leaderboards=leaderboards)
    (root / "README.md").write_text(card)
    run.counts = counts
    run.save(update_fields=["counts"])
    checkpoint("after_write")

    # Only the batch's own paths: adding a new folder costs what is in it, not what is beside it.
    if counts["images"]:
        repo.add(str(root / "images" / run.batch))
    for table in TABLES:
        if counts[table]:
            part = f"{table}/{run.batch}.parquet"
            repo.add(str(root / part))
            for column in IMAGE_COLUMNS.get(table, []):
                repo.add_schema_metadata(part, column, IMAGE_RENDER_METADATA)
    repo.add(str(root / "README.md"))
    checkpoint("after_add")

    commit = repo.commit(_commit_message(run))
    checkpoint("after_commit")
    return commit.id


def push(repo: oxen.Repo, run: ExportRun) -> None:
    """Push the branch when a remote is configured and some commit is not pushed yet; failures wait for next run."""
    if not (settings.OXEN_REMOTE and settings.OXEN_API_KEY):
        return
    unpushed = ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED, pushed=False).exclude(commit_id="")
    if not unpushed.exists():
        return
    try:
        repo.set_remote(REMOTE_NAME, settings.OXEN_REMOTE)
        repo.push(REMOTE_NAME, settings.OXEN_BRANCH)
    except (ValueError, OSError) as exc:
        run.error_message = (
            f"Push of branch {settings.OXEN_BRANCH!r} to {settings.OXEN_REMOTE} failed: {exc}. "
            f"The commits stay in {settings.OXEN_REPO_PATH}; the next export pushes them again."
        )
        run.save(update_fields=["error_message"])
        logger.warning("%s", run.error_message)
        return
    unpushed.update(pushed=True)
    run.refresh_from_db(fields=["pushed"])
