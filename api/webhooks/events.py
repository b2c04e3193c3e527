"""Webhook events: what each one carries, and the outbox rows that record it for each subscribed endpoint.

Called by the signal receivers inside the transaction of the event, so an event and its deliveries commit
together; the deliveries are queued once it commits (and picked up by the beat if that queueing is lost).
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.tasks import webhook_deliver
from exports.models import ExportRun
from labeling.models import Candidate, Project, PromptBatch, Task

Event = WebhookEndpoint.Event


def subscribed_endpoints(*, event_type: str, endpoints: Iterable[WebhookEndpoint]) -> list[WebhookEndpoint]:
    return [endpoint for endpoint in endpoints if endpoint.subscribes_to(event_type)]


def webhook_event_record(*, event_type: str, data: dict, endpoints: Iterable[WebhookEndpoint]) -> list[WebhookDelivery]:
    """Write one delivery per endpoint (the outbox) and queue each once the transaction commits."""
    now = timezone.now()
    payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=endpoint, event_type=event_type, payload=payload, next_attempt_at=now)
            for endpoint in endpoints
        ]
    )
    for delivery in deliveries:
        webhook_deliver.delay_on_commit(delivery.pk)
    return deliveries


def _project_data(project: Project | None) -> dict | None:
    return None if project is None else {"slug": project.slug, "name": project.name}


def _task_data(task: Task) -> dict:
    return {
        "id": task.pk,
        "prompt": task.prompt,
        "source": task.source,
        "status": task.status,
        "batch": task.batch_id,
        "path": task.get_absolute_url(),
        "updated_at": task.updated_at.isoformat(),
    }


def task_completed_record(*, task_id: int) -> list[WebhookDelivery]:
    endpoints = subscribed_endpoints(
        event_type=Event.TASK_COMPLETED, endpoints=WebhookEndpoint.objects.filter(project__tasks=task_id)
    )
    if not endpoints:
        return []
    task = Task.objects.select_related("project").get(pk=task_id)
    data = {"project": _project_data(task.project), "task": _task_data(task)}
    return webhook_event_record(event_type=Event.TASK_COMPLETED, data=data, endpoints=endpoints)


def batch_completed_record(*, batch_id: int) -> list[WebhookDelivery]:
    endpoints = subscribed_endpoints(
        event_type=Event.BATCH_COMPLETED, endpoints=WebhookEndpoint.objects.filter(project__batches=batch_id)
    )
    if not endpoints:
        return []
    batch = PromptBatch.objects.select_related("project").get(pk=batch_id)
    counts = batch.tasks.aggregate(
        complete=Count("pk", filter=Q(status=Task.Status.COMPLETE)),
        failed=Count("pk", filter=Q(status=Task.Status.FAILED)),
    )
    data = {
        "project": _project_data(batch.project),
        "batch": {"id": batch.pk, "name": batch.name, "prompt_count": batch.prompt_count, "tasks": counts},
    }
    return webhook_event_record(event_type=Event.BATCH_COMPLETED, data=data, endpoints=endpoints)


def review_completed_record(*, candidate_id: int) -> list[WebhookDelivery]:
    endpoints = subscribed_endpoints(
        event_type=Event.REVIEW_COMPLETED,
        endpoints=WebhookEndpoint.objects.filter(project__tasks__candidates=candidate_id),
    )
    if not endpoints:
        return []
    answer = Candidate.objects.select_related("task__project").get(pk=candidate_id)
    reviews = answer.reviews.select_related("reviewer").order_by("created_at", "pk")
    data = {
        "project": _project_data(answer.task.project),
        "task": {"id": answer.task_id, "prompt": answer.task.prompt, "path": answer.task.get_absolute_url()},
        "answer": {"uid": str(answer.uid), "index": answer.index, "text": answer.text},
        "reviews": [
            {
                "decision": review.decision,
                "final_text": review.final_text,
                "reviewer": str(review.reviewer.public_id),
                "created_at": review.created_at.isoformat(),
            }
            for review in reviews
        ],
    }
    return webhook_event_record(event_type=Event.REVIEW_COMPLETED, data=data, endpoints=endpoints)


def export_finished_record(*, run: ExportRun) -> list[WebhookDelivery]:
    """An export of one project goes to that project's endpoints; an export of every project to all of them."""
    event_type = Event.EXPORT_SUCCEEDED if run.status == ExportRun.Status.SUCCEEDED else Event.EXPORT_FAILED
    candidates = WebhookEndpoint.objects.all()
    if run.project_id is not None:
        candidates = candidates.filter(project=run.project_id)
    endpoints = subscribed_endpoints(event_type=event_type, endpoints=candidates)
    if not endpoints:
        return []
    data = {
        "project": _project_data(run.project),
        "export": {
            "id": run.pk,
            "status": run.status,
            "batch": run.batch,
            "commit_id": run.commit_id,
            "counts": run.counts,
            "error_message": run.error_message,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
    }
    return webhook_event_record(event_type=event_type, data=data, endpoints=endpoints)


def webhook_test_send(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """The "send test event" button: one ``webhook.test`` event to this endpoint only."""
    data = {
        "project": _project_data(endpoint.project),
        "message": "A test event from Corral. Verify its signature with this endpoint's secret.",
    }
    with transaction.atomic():
        (delivery,) = webhook_event_record(event_type=WebhookEndpoint.TEST_EVENT, data=data, endpoints=[endpoint])
    return delivery


def delivery_send_again(*, delivery: WebhookDelivery) -> bool:
    """A manager's "send again" of a failed delivery: due now, with a fresh set of attempts and the same webhook-id.
    False when it is not failed (nothing changed)."""
    again = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    if again:
        webhook_deliver.delay_on_commit(delivery.pk)
    return bool(again)
