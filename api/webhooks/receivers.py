"""The lower apps' announcements, turned into outbox rows (nothing else happens in a receiver)."""

from django.dispatch import receiver

from api.webhooks.events import (
    batch_completed_record,
    export_finished_record,
    review_completed_record,
    task_completed_record,
)
from exports.signals import export_finished
from labeling.signals import batch_completed, review_completed, task_completed


@receiver(task_completed, dispatch_uid="api.webhooks.task_completed")
def on_task_completed(sender, *, task_id: int, **kwargs) -> None:
    task_completed_record(task_id=task_id)


@receiver(batch_completed, dispatch_uid="api.webhooks.batch_completed")
def on_batch_completed(sender, *, batch_id: int, **kwargs) -> None:
    batch_completed_record(batch_id=batch_id)


@receiver(review_completed, dispatch_uid="api.webhooks.review_completed")
def on_review_completed(sender, *, candidate_id: int, **kwargs) -> None:
    review_completed_record(candidate_id=candidate_id)


@receiver(export_finished, dispatch_uid="api.webhooks.export_finished")
def on_export_finished(sender, *, run, **kwargs) -> None:
    export_finished_record(run=run)
