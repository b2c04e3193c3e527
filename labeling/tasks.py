from celery import shared_task

from labeling.services import project_counts_refresh


@shared_task(name="labeling.tasks.count_projects", ignore_result=True)
def count_projects() -> int:
    """Beat: the dashboard's project totals, counted again every PROJECT_COUNTS_SECONDS."""
    return project_counts_refresh()
