from celery import shared_task
from django.conf import settings
from django.utils import timezone

from api.webhooks.delivery import deliveries_due, delivery_attempt
from api.webhooks.models import WebhookDelivery


@shared_task(name="api.webhooks.deliver", ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    """One attempt; a failure soon to be retried is queued again for its time, later ones wait for the beat."""
    delivery = delivery_attempt(delivery_id=delivery_id)
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    if wait <= settings.WEBHOOK_RETRY_IN_WORKER_MAX_SECONDS:
        webhook_deliver.apply_async((delivery_id,), eta=delivery.next_attempt_at)


@shared_task(name="api.webhooks.deliver_due", ignore_result=True)
def webhook_deliver_due() -> int:
    """Run by the beat: queue every delivery whose time has come (lost queue messages, dead workers, late retries)."""
    due = deliveries_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)
