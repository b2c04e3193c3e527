from django.conf import settings
from django.db import models
from django.db.models import Q

from quality.figure_models import FigureSnapshot

__all__ = ["FigureSnapshot", "QualityAction", "QualitySnapshot"]


class QualityAction(models.Model):
    """A manager's pause, exclusion or reinstatement of a project member: who, when, what and why."""

    class Kind(models.TextChoices):
        PAUSE = "pause", "Paused"
        EXCLUDE = "exclude", "Excluded from exports and figures"
        REINSTATE = "reinstate", "Reinstated"

    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="quality_actions")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quality_actions_on")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="quality_actions_taken"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "member", "created_at"], name="quality_action_member_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["pause", "exclude", "reinstate"]), name="quality_action_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.member} in {self.project} by {self.actor}"


class QualitySnapshot(models.Model):
    """A project's quality figures as the background task last computed them (quality/report.py)."""

    project = models.OneToOneField("labeling.Project", on_delete=models.CASCADE, related_name="quality_snapshot")
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text="How long the computation took.")
    # Set when someone asks for fresh figures; the page says "recomputing" while it is newer than computed_at.
    requested_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Quality of {self.project} as of {self.computed_at}"

    @property
    def recomputing(self) -> bool:
        return self.requested_at is not None and (self.computed_at is None or self.requested_at > self.computed_at)
