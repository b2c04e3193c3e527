import logging

from celery import shared_task

from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE = "The job queue could not be reached, so no worker got this computation. Press Recompute again."


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
