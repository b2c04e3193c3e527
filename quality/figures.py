"""Figures computed in the background and cached with their time: asking for them, computing, reading.

A page never computes figures: it reads the project's snapshot, says how old it is, and asks a worker for a
fresh one when it is older than FIGURES_MAX_AGE_SECONDS (or on the "Recompute" button). A request sets
``requested_at`` with one conditional UPDATE, so many pages at once queue one computation.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import Project
from quality.dashboard import dashboard_compute
from quality.figure_models import FigureSnapshot
from quality.leaderboard import leaderboard_compute

logger = logging.getLogger(__name__)

Kind = FigureSnapshot.Kind
COMPUTE: dict[str, Callable[..., dict[str, Any]]] = {
    Kind.LEADERBOARD: leaderboard_compute,
    Kind.DASHBOARD: dashboard_compute,
}
# A request older than this is taken to be lost (its worker died), and the next page asks again.
REQUEST_FORGOTTEN_AFTER = timedelta(minutes=10)


def figures_snapshot(*, project: Project, kind: str) -> FigureSnapshot:
    snapshot, _ = FigureSnapshot.objects.get_or_create(project=project, kind=kind)
    return snapshot


def figures_are_stale(snapshot: FigureSnapshot, *, now=None) -> bool:
    if snapshot.computed_at is None:
        return True
    now = now or timezone.now()
    return now - snapshot.computed_at > timedelta(seconds=settings.FIGURES_MAX_AGE_SECONDS)


def figures_request(*, snapshot: FigureSnapshot, enqueue: Callable[[int, str], None]) -> bool:
    """Ask a worker for fresh figures unless that was asked recently; True when this call asked."""
    now = timezone.now()
    asked = FigureSnapshot.objects.filter(
        Q(requested_at__isnull=True) | Q(requested_at__lt=now - REQUEST_FORGOTTEN_AFTER), pk=snapshot.pk
    ).update(requested_at=now)
    if asked:
        snapshot.requested_at = now
        transaction.on_commit(lambda: enqueue(snapshot.project_id, snapshot.kind))
    return bool(asked)


def figures_compute(*, project_id: int, kind: str) -> FigureSnapshot | None:
    """Compute a project's figures now and store them with their time; None when the project is gone.

    A failure is stored as the snapshot's error (the page shows it with its Recompute button) and raised.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    snapshot = figures_snapshot(project=project, kind=kind)
    started = time.monotonic()
    try:
        data = COMPUTE[kind](project=project)
    except Exception as exc:
        FigureSnapshot.objects.filter(pk=snapshot.pk).update(
            requested_at=None, error_message=f"{type(exc).__name__}: {exc}"
        )
        raise
    now = timezone.now()
    if data != snapshot.data:
        snapshot.changed_at = now
    snapshot.data = data
    snapshot.computed_at = now
    snapshot.compute_seconds = round(time.monotonic() - started, 3)
    snapshot.requested_at = None
    snapshot.error_message = ""
    snapshot.save()
    return snapshot
