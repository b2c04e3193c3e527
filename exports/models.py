from django.db import models
from django.db.models import Q


class ExportRun(models.Model):
    """One export to the Oxen repository, as a job row the task updates."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "labeling.Project", null=True, blank=True, on_delete=models.SET_NULL, help_text="Empty: every project."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    batch = models.CharField(max_length=64, blank=True, help_text="Folder and part-file name of this export.")
    counts = models.JSONField(default=dict, blank=True)
    commit_id = models.CharField(max_length=100, blank=True)
    pushed = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "running", "succeeded", "failed"]), name="export_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status})"
