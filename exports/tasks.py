import logging

from celery import shared_task

from exports.repository import ExportRepositoryBusy
from exports.run import export_run
from labeling.models import Project

logger = logging.getLogger(__name__)


@shared_task(name="exports.tasks.export_to_oxen", ignore_result=True)
def export_to_oxen(project_id: int | None = None) -> None:
    """Scheduled by beat (every EXPORT_INTERVAL_SECONDS) and queued by the admin's "Export now"."""
    project = Project.objects.filter(pk=project_id).first() if project_id is not None else None
    if project_id is not None and project is None:
        logger.warning("Export of project %s skipped: the project no longer exists.", project_id)
        return
    try:
        export_run(project=project)
    except ExportRepositoryBusy as exc:
        # Nothing was written and every row stays due; the exports worker that owns the repository exports them.
        logger.error("Export skipped: %s", exc)


def export_enqueue(*, project: Project | None = None) -> None:
    """Queue an export on the worker once the current transaction commits."""
    export_to_oxen.delay_on_commit(project_id=project.pk if project else None)
