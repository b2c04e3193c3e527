"""Export to Oxen: incremental, exactly once, crash-safe.

One run, under a database lock:

1. settle runs a killed process left ``running``: if the Oxen log holds the commit of their batch they
   succeeded (their ledger rows stand); otherwise their files are unstaged and deleted and their ledger
   rows dropped, so the rows go out again now;
2. create the run (status ``running``, a new batch id) and stream every due row (never exported, or
   changed since) in chunks: part files ``<table>/<batch>.parquet``, new images under
   ``images/<batch>/``, and ledger rows (``ExportedRow``, ``ExportedImage``) tied to the run; then the
   ``annotators`` rows of people whose figures changed (ledger ``ExportedAnnotator``);
3. regenerate README.md, ``add`` only the batch's own paths, commit with the batch id in the message;
4. mark the run succeeded, which is what makes its ledger rows count as exported; then push.

A row is due when no *succeeded* run's ledger holds it at its current ``updated_at``, so a run that dies
anywhere before step 4 leaves its rows due, and step 1 of the next run decides from the Oxen log alone
whether they were committed.
"""

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from exports.crash import checkpoint
from exports.lock import export_lock
from exports.models import ExportRun
from exports.repository import commit_batch, push, repo_open, settle
from exports.signals import export_run_finish
from exports.tables.annotators import export_annotators
from exports.tables.leaderboard import export_leaderboards
from exports.tables.preferences import export_preferences
from exports.tables.reviews import export_reviews
from exports.tables.votes import export_votes
from exports.writers import Batch, ExportError, ProgressCallback
from labeling.models import Project

logger = logging.getLogger(__name__)

EXPORT_RETRIED = "Nothing of it was committed and its rows go out with the next export."
# What a person reads when an export fails in a way nobody foresaw; the details (the exception) go to the log.
EXPORT_FAILED = (
    f"The export failed because of an unexpected problem. {EXPORT_RETRIED} "
    "An admin will find the details in the exports worker's log."
)


def _fill(batch: Batch, project: Project | None, progress: ProgressCallback) -> None:
    try:
        export_votes(batch, project, progress)
        export_preferences(batch, project, progress)
        export_reviews(batch, project, progress)
        export_leaderboards(batch, project, progress)
        # Last, so the figures include every judgement this batch wrote.
        export_annotators(batch, project, as_of=batch.run.started_at if batch.run else timezone.now())
    finally:
        batch.close()


def export_preview(*, project: Project | None = None) -> dict[str, int]:
    """Rows per table (and new images) that an export would write now; writes nothing."""
    batch = Batch(run=None, root=Path(settings.OXEN_REPO_PATH))
    _fill(batch, project, lambda _n: None)
    return batch.counts


def _new_batch_id() -> str:
    return f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def export_run(*, project: Project | None = None, progress: ProgressCallback | None = None) -> ExportRun | None:
    """Export every due row to the Oxen repository. Returns the run, or None when another export holds the lock."""
    progress = progress or (lambda _n: None)
    with export_lock() as acquired:
        if not acquired:
            logger.info("Another export is running; this one does nothing.")
            return None
        repo = repo_open()
        for stale in ExportRun.objects.filter(status=ExportRun.Status.RUNNING):
            settle(repo, stale, reason="The export process stopped before its commit; its rows went out again.")

        run = ExportRun.objects.create(
            project=project, status=ExportRun.Status.RUNNING, batch=_new_batch_id(), started_at=timezone.now()
        )
        try:
            checkpoint("before_write")
            batch = Batch(run=run, root=Path(settings.OXEN_REPO_PATH))
            _fill(batch, project, progress)
            if any(batch.counts.values()):
                run.commit_id = commit_batch(repo, run, batch.counts)
                run.save(update_fields=["commit_id"])
            checkpoint("before_mark")
            run.status, run.finished_at = ExportRun.Status.SUCCEEDED, timezone.now()
            export_run_finish(run, update_fields=["status", "finished_at"])
        except Exception as exc:
            logger.exception("Export run %s failed", run.pk)
            # An ExportError is written for people (a missing image, say); anything else only the log explains.
            settle(repo, run, reason=f"{exc} {EXPORT_RETRIED}" if isinstance(exc, ExportError) else EXPORT_FAILED)
            if run.status == ExportRun.Status.FAILED:
                return run
        push(repo, run)
        return run
