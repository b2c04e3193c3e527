import logging

from celery import shared_task

from labeling.models import Project
from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute
from quality.selectors import projects_with_stale_figures
from quality.services import snapshot_compute, snapshot_requested

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "The job queue could not be reached, so no worker got this computation. Press Recompute again."


@shared_task(name="quality.tasks.quality_recompute", ignore_result=True)
def quality_recompute(project_id: int) -> None:
    """Recompute and store one project's quality figures (the Quality page reads the stored snapshot)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        snapshot_compute(project=project)


def quality_recompute_enqueue(*, project: Project) -> None:
    """Ask for fresh figures: the page says "recomputing" at once, the worker computes them after the commit."""
    snapshot_requested(project=project)
    quality_recompute.delay_on_commit(project.pk)


@shared_task(name="quality.tasks.quality_refresh_stale", ignore_result=True)
def quality_refresh_stale() -> int:
    """Scheduled by beat: recompute the figures of every project judged since its snapshot (or without one)."""
    stale = projects_with_stale_figures()
    for project in stale:
        snapshot_compute(project=project)
    return len(stale)


@shared_task(name="quality.tasks.compute_figures", ignore_result=True)
def compute_figures(project_id: int, kind: str) -> None:
    """Compute and cache a project's leaderboard or dashboard (asked for by its pages)."""
    figures_compute(project_id=project_id, kind=kind)


def figures_enqueue(project_id: int, kind: str) -> None:
    """Send the computation to a worker; a broker that cannot be reached is said on the page, with its retry."""
    try:
        compute_figures.delay(project_id, kind)
    except Exception:  # kombu's OperationalError, or whatever the transport raises
        logger.warning("could not queue the %s of project %s", kind, project_id, exc_info=True)
        FigureSnapshot.objects.filter(project_id=project_id, kind=kind).update(
            requested_at=None, error_message=QUEUE_UNAVAILABLE
        )
