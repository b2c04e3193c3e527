from django.db import models
from django.db.models import Q
from django.utils import timezone

from labeling.models import Task


class GenerationJob(models.Model):
    """One attempt to produce the candidates of a task; the task's progress and failure state live here."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Images"
        TEXT = "text", "Text"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING)

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="generation_jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one pending or running job per task: a second request cannot double the work.
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(status__in=["pending", "running"]),
                name="generation_one_active_job_per_task",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "succeeded", "failed"]), name="generation_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="generation_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        return round(100 * self.progress_step / self.progress_total) if self.progress_total else 0


class WorkerHeartbeat(models.Model):
    """Last sign of life from each Celery worker, read by /healthz."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, *, hostname: str) -> None:
        cls.objects.update_or_create(hostname=hostname[:200], defaults={"seen_at": timezone.now()})
