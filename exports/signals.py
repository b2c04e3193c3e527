"""What exports announce to the apps above it (webhooks), sent inside the transaction that finishes the run."""

from django.db import transaction
from django.dispatch import Signal

from exports.models import ExportRun

# An export run ended, succeeded or failed. Sent with ``run``.
export_finished = Signal()


def export_run_finish(run: ExportRun, *, update_fields: list[str]) -> None:
    """Save a run that has just ended and announce it, in one transaction."""
    with transaction.atomic():
        run.save(update_fields=update_fields)
        export_finished.send(sender=ExportRun, run=run)
