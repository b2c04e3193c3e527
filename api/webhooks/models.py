import secrets
import uuid
from base64 import b64encode

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

# Standard Webhooks secrets are this prefix and the key in base64.
WHSEC_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A new endpoint's secret: 32 random bytes."""
    return WHSEC_PREFIX + b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    """The ``webhook-id`` of one event sent to one endpoint; the same on every retry, so receivers de-duplicate."""
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    """A receiver URL a manager registered for some events of one project."""

    class Event(models.TextChoices):
        TASK_COMPLETED = "task.completed", "task.completed: a task has all the judgements it needs"
        BATCH_COMPLETED = "batch.completed", "batch.completed: every task of a prompt batch is complete or failed"
        REVIEW_COMPLETED = "review.completed", "review.completed: an LLM answer has all its reviews"
        EXPORT_SUCCEEDED = "export.succeeded", "export.succeeded: an export to Oxen committed"
        EXPORT_FAILED = "export.failed", "export.failed: an export to Oxen failed"

    # Sent by the "send test event" button only, to the one endpoint it was pressed for.
    TEST_EVENT = "webhook.test"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("receiver URL", max_length=2000)
    events = models.JSONField(default=list, help_text="The event types sent to this URL.")
    secret = models.CharField(max_length=100, default=new_signing_secret, editable=False)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "url"], name="webhook_endpoint_one_per_project_url"),
            models.CheckConstraint(condition=Q(secret__startswith=WHSEC_PREFIX), name="webhook_endpoint_secret_whsec"),
        ]

    def __str__(self) -> str:
        return f"{self.project} → {self.url}"

    def get_absolute_url(self) -> str:
        return reverse("api-webhook", kwargs={"slug": self.project.slug, "pk": self.pk})

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written with the event, and its delivery log."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id, editable=False)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due (pending only); the worker that takes an attempt moves it on by a lease first,
    # so a worker that dies mid-attempt leaves the delivery due again later instead of lost.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]), name="webhook_delivery_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="pending") | Q(next_attempt_at__isnull=False),
                name="webhook_delivery_pending_has_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} ({self.status})"
