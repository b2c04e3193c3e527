from celery import shared_task

from labeling.models import Project
from quality.selectors import projects_with_stale_figures
from quality.services import snapshot_compute, snapshot_requested


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
