"""Sending a delivery: sign it (Standard Webhooks), POST it, and record the outcome with the next attempt's time.

An attempt first claims the delivery with one conditional update (due, still pending), which also moves its next
attempt a lease ahead: of two workers (a retry and the beat's pick-up) only one sends, and a worker that dies
mid-attempt leaves it due again when the lease ends. Failures are retried with exponential backoff, from
WEBHOOK_RETRY_BASE_SECONDS doubling twice per attempt up to WEBHOOK_RETRY_MAX_SECONDS, for WEBHOOK_MAX_ATTEMPTS
attempts (the defaults: about 28 hours); then the delivery is failed, and a manager may send it again.
"""

import json
import logging
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from api.webhooks.addresses import receiver_url_problem
from api.webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
# How much of a receiver's answer is kept in the log.
ERROR_BODY_CHARS = 300


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: base × 4^(attempts − 1), capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 4 ** (attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def attempt_lease() -> timedelta:
    """Longer than an attempt can take, so a live attempt is never overtaken by the beat's pick-up."""
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 60)


def signed_request(delivery: WebhookDelivery, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: the same ``webhook-id`` every time, a fresh timestamp and signature."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    signature = Webhook(delivery.endpoint.secret).sign(delivery.message_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": "Corral-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def _send(delivery: WebhookDelivery, *, now: datetime) -> tuple[int | None, str]:
    """POST the delivery; (status code or None, error or "") — never raises for the receiver's faults."""
    body, headers = signed_request(delivery, now=now)
    try:
        # Streamed: only the first ERROR_BODY_CHARS bytes of an answer are read, whatever a receiver sends.
        with httpx.stream(
            "POST",
            delivery.endpoint.url,
            content=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,  # a redirect could lead to an address the URL rule refuses
        ) as response:
            if 200 <= response.status_code < 300:
                return response.status_code, ""
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= ERROR_BODY_CHARS:
                    break
    except httpx.HTTPError as exc:
        return None, f"Could not deliver: {type(exc).__name__}: {exc}".strip()
    text = answer[:ERROR_BODY_CHARS].decode(errors="replace").strip()
    return response.status_code, f"The receiver answered HTTP {response.status_code}" + (f": {text}" if text else ".")


def delivery_attempt(*, delivery_id: int) -> WebhookDelivery | None:
    """Make one attempt at a due, pending delivery; None when it is not due (or another worker has it)."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + attempt_lease()
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was removed meanwhile
        return None
    problem = receiver_url_problem(delivery.endpoint.url)
    if problem:
        status_code, error, give_up = None, f"Not sent: {problem}", True
    else:
        status_code, error = _send(delivery, now=now)
        give_up = bool(error) and delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    delivery.last_status_code, delivery.last_error = status_code, error
    if not error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Status.SUCCEEDED, timezone.now(), None
    elif give_up:
        delivery.status, delivery.next_attempt_at = Status.FAILED, None
    else:
        delivery.next_attempt_at = timezone.now() + retry_delay(delivery.attempts)
    delivery.save(update_fields=["status", "last_status_code", "last_error", "delivered_at", "next_attempt_at"])
    if error:
        logger.warning(
            "Webhook %s to %s, attempt %d: %s", delivery.message_id, delivery.endpoint.url, delivery.attempts, error
        )
    return delivery


def deliveries_due(*, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due, oldest first (the beat's pick-up)."""
    due = WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
