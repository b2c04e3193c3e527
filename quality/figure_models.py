from django.db import models
from django.db.models import Q

from labeling.models import Project


class FigureSnapshot(models.Model):
    """A project's figures (its leaderboard, its dashboard) as a worker last computed them, with when.

    Pages read these rows and never compute the figures themselves; ``requested_at`` is set while fresher ones
    are asked for, so a busy page asks once.
    """

    class Kind(models.TextChoices):
        LEADERBOARD = "leaderboard", "Leaderboard"
        DASHBOARD = "dashboard", "Dashboard"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    data = models.JSONField(null=True, blank=True, help_text="The figures; empty until first computed.")
    computed_at = models.DateTimeField(null=True, blank=True)
    # When the figures last came out different: what the export publishes a new version of.
    changed_at = models.DateTimeField(null=True, blank=True)
    compute_seconds = models.FloatField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True, help_text="Fresh figures were asked for at.")
    error_message = models.TextField(blank=True, help_text="Why the last computation failed.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="figure_snapshot_one_per_project_kind"),
            models.CheckConstraint(condition=Q(kind__in=["leaderboard", "dashboard"]), name="figure_snapshot_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.project_id} at {self.computed_at}"
