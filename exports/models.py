from django.conf import settings
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


class ExportedRow(models.Model):
    """Ledger: one source row (vote, preference, review, a project's leaderboard) as an export run wrote it.

    A row counts as exported only when its run succeeded, i.e. the Oxen commit holding it exists; a row
    changed since (newer ``updated_at``) is due again.
    """

    class Source(models.TextChoices):
        VOTE = "vote", "Vote"
        PREFERENCE = "preference", "Preference"
        REVIEW = "review", "Review"
        LEADERBOARD = "leaderboard", "Leaderboard"

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="rows")
    source = models.CharField(max_length=12, choices=Source.choices)
    object_id = models.BigIntegerField()
    updated_at = models.DateTimeField()
    # False: the row was settled without writing anything (a withdrawal never published, an "all bad" pick).
    published = models.BooleanField()

    class Meta:
        indexes = [models.Index(fields=["source", "object_id", "updated_at"], name="exported_row_lookup_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["vote", "preference", "review", "leaderboard"]), name="exported_row_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_id} in run {self.run_id}"


class ExportedImage(models.Model):
    """Ledger: where a candidate's image lives in the dataset (written once, by the run that first needed it)."""

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="images")
    candidate = models.ForeignKey("labeling.Candidate", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=300)

    class Meta:
        # Each image once: runs that never committed have their ledger rows removed before the next run plans.
        constraints = [models.UniqueConstraint(fields=["candidate"], name="exported_image_once")]

    def __str__(self) -> str:
        return self.path


class ExportedAnnotator(models.Model):
    """Ledger: the figures of one person in one project as an export run wrote them to ``annotators``.

    ``digest`` fingerprints the row's figures; a person is due again when the newest succeeded run's digest
    differs from their figures now. As for ``ExportedRow``, only succeeded runs count.
    """

    run = models.ForeignKey(ExportRun, on_delete=models.CASCADE, related_name="annotators")
    project = models.ForeignKey("labeling.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["project", "user", "run"], name="exported_annotator_idx")]
        constraints = [
            models.UniqueConstraint(fields=["run", "project", "user"], name="exported_annotator_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.project_id}, run {self.run_id}"


class ExportLock(models.Model):
    """The single row that SQLite deployments lock on (PostgreSQL uses an advisory lock instead)."""

    holder = models.CharField(max_length=300, blank=True, help_text="host:pid of the export holding the lock.")
    acquired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="export_lock_singleton")]

    def __str__(self) -> str:
        return self.holder or "free"
