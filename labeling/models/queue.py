"""What the queues keep: holds on tasks and answers, each person's place in the queue, and background counts."""

from django.conf import settings
from django.db import models
from django.db.models import F

from labeling.models.projects import Project
from labeling.models.tasks import Candidate, Task


class TaskReservation(models.Model):
    """A short hold on a task for one annotator, so the queue does not hand its last slot out twice."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="task_reservation_one_per_user")]
        indexes = [models.Index(fields=["task", "expires_at"], name="task_reservation_idx")]

    def __str__(self) -> str:
        return f"{self.user} holds task {self.task_id} until {self.expires_at:%H:%M:%S}"


class ProjectCounts(models.Model):
    """A project's totals for the dashboard, counted in the background every PROJECT_COUNTS_SECONDS: counting a
    million votes on every page view would make the dashboard slower as the project grows."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, primary_key=True, related_name="counts")
    tasks = models.PositiveIntegerField()
    complete_tasks = models.PositiveIntegerField()
    ready_tasks = models.PositiveIntegerField()
    candidates = models.PositiveIntegerField()
    votes = models.PositiveIntegerField(help_text="Cast votes (withdrawn ones not counted).")
    counted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.project}: {self.tasks} tasks, {self.votes} votes at {self.counted_at:%H:%M}"

    @property
    def percent_complete(self) -> int:
        return round(100 * self.complete_tasks / self.tasks) if self.tasks else 0


class MemberCounts(models.Model):
    """A person's cast votes in a project made before ``counted_at``, counted in the background with ProjectCounts.

    My progress adds the votes made since, so its cost does not grow with the person's history.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    votes = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="member_counts_one_per_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: {self.votes} votes before {self.counted_at:%H:%M}"


class HandOutCounts(models.Model):
    """What a queue has handed one person in one project, counted as it hands out: the gold schedules read these
    (labeling.selectors.gold_due, labeling.review_selectors) instead of counting the person's judgements, so a
    press costs the same after 20,000 items as after none."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    handed_out = models.PositiveIntegerField(default=0)
    gold_handed_out = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class QueueMarker(HandOutCounts):
    """Where "Next task" starts looking for one annotator in one project, and what their queue handed them.

    Every ready task up to this place in the queue is one they have finished or may not judge, so the queue
    never walks their history again: a press costs the same after 20,000 tasks as after none. A task that joins
    the queue later (made ready, reopened) gets a later place (``Task.queued_at``) and so lands after it.
    """

    # The place of the last task passed: (queued_at, id), the queue's order; null before any. Not a foreign key:
    # the task may go.
    queued_at = models.DateTimeField(null=True)
    task_id = models.BigIntegerField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="queue_marker_one_per_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: past task {self.task_id}"


class ReviewQueueCounts(HandOutCounts):
    """What the review queue has handed one reviewer in one project."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="review_queue_counts_one_per_user_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: {self.handed_out} answers handed out, {self.gold_handed_out} gold"


def hand_out_count(counts: type[HandOutCounts], *, user, project: Project, gold: bool) -> None:
    """Count one hand-out (``gold``: of a gold item) in the person's row of ``counts``, the annotator's QueueMarker or
    the reviewer's ReviewQueueCounts: one statement once the row exists."""
    rows = counts.objects.filter(user=user, project=project)
    added = {"handed_out": F("handed_out") + 1, "gold_handed_out": F("gold_handed_out") + int(gold)}
    if rows.update(**added):
        return
    # Their first hand-out in this project: make the row (a concurrent press may make it first), then count.
    counts.objects.get_or_create(user=user, project=project)
    rows.update(**added)


class ReviewReservation(models.Model):
    """A short hold on an answer for one reviewer, so two reviewers never get it at the same moment."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="review_reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "user"], name="review_reservation_one_per_user")]
        indexes = [
            models.Index(fields=["candidate", "expires_at"], name="review_reservation_idx"),
            # A press looks up the reviewer's own live holds first; holds given up by walking away stay behind.
            models.Index(fields=["user", "expires_at"], name="review_reservation_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} holds answer {self.candidate_id} until {self.expires_at:%H:%M:%S}"
