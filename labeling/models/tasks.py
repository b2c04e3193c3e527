"""Tasks (a prompt: the unit of annotation work) and their candidates (an image or an LLM answer)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from labeling.models.projects import Membership, Project, PromptBatch


class Task(models.Model):
    """One prompt in a project, and the unit of annotation work."""

    class Source(models.TextChoices):
        BATCH = "batch", "Imported batch"
        TYPED = "typed", "Typed by an annotator"

    class Status(models.TextChoices):
        NEW = "new", "New"
        GENERATING = "generating", "Generating"
        READY = "ready", "Ready for feedback"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    # Tasks take feedback in these states: a complete task still takes votes, so an annotator who opened it
    # before it filled up keeps their work.
    JUDGEABLE_STATUSES = (Status.READY, Status.COMPLETE)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    prompt = models.TextField()
    source = models.CharField(max_length=10, choices=Source.choices)
    batch = models.ForeignKey(PromptBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_tasks"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    extra = models.JSONField(default=dict, blank=True, help_text="Extra fields from the imported row.")
    # A gold (control) task's expected judgement, by candidate index; null for every other task. Images:
    # {"ratings": {"0": "good", "2": "bad"}, "best": 1 | "tie" | "all_bad"} (each key optional); answers:
    # {"decisions": {"0": {"decision": "accept" | "correct" | "reject", "text": "accepted text for a correction"}}}.
    gold = models.JSONField(null=True, blank=True)
    # The task's place in the queue: when it became ready, or ready again (reopened), so a task that joins the
    # queue late lands after every annotator's QueueMarker instead of behind it.
    queued_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The queue's order, id included: "Next" walks it from the annotator's marker and stops at the first open
        # task, where an index without the id left PostgreSQL sorting every ready task (with its vote counts).
        indexes = [
            models.Index(fields=["project", "status", "queued_at", "id"], name="task_queue_order_idx"),
            models.Index(fields=["project", "created_at"], name="task_recent_idx"),
            # The API lists a project's tasks by change time, page after page from a cursor (updated_at, id).
            models.Index(fields=["project", "updated_at", "id"], name="task_project_updated_idx"),
            # The queue's gold part: a project's few gold tasks, without walking every other task for them.
            models.Index(
                fields=["project", "queued_at", "id"], condition=Q(gold__isnull=False), name="task_gold_queue_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "generating", "ready", "complete", "failed"]), name="task_status_valid"
            ),
            models.CheckConstraint(condition=~Q(prompt=""), name="task_prompt_not_empty"),
        ]

    def __str__(self) -> str:
        return self.prompt[:80]

    def get_absolute_url(self) -> str:
        return reverse("labeling-task", kwargs={"pk": self.pk})

    # Who may judge a task: everyone in its project who is not paused there, except, where the project forbids it,
    # the annotator who typed its prompt. The methods and the Q expressions state the same rule (labeling/votes.py
    # has its SQL form); tests/labeling/test_judging_rule.py holds the three to the same answers. A superuser acts
    # as a manager everywhere and is never paused.
    def judgeable_by(self, user) -> bool:
        return not self.judge_paused(user) and not (
            self.project.forbid_self_voting and self.source == self.Source.TYPED and self.created_by_id == user.pk
        )

    def judge_paused(self, user) -> bool:
        return Membership.is_paused(user, self.project)

    @staticmethod
    def judgeable_by_q(user, *, via: str = "", paused: bool | None = None) -> Q:
        """``judgeable_by`` for a queryset of tasks, or of rows that reach their task through ``via`` ("task__").

        ``paused``: whether the user is paused, for rows of one project where the caller has read it already
        (``Membership.is_paused``); the statement then tests each row for the own-prompt rule only.
        """
        own_prompt = Q(
            **{
                f"{via}project__forbid_self_voting": True,
                f"{via}source": Task.Source.TYPED,
                f"{via}created_by": user.pk,
            }
        )
        if paused is None:
            return ~own_prompt & ~Task.judge_paused_q(user, via=via)
        return Q(pk__in=[]) if paused else ~own_prompt

    @staticmethod
    def judge_paused_q(user, *, via: str = "", project: Project | None = None) -> Q:
        """``Membership.is_paused`` for a queryset of tasks, or of rows that reach their task through ``via``.

        ``project``: the one project of the queryset's rows. The check then names it instead of each row's, so the
        database makes it once for the statement, and plans the rest as if nobody were paused (checked per row,
        PostgreSQL took the rows left after it for one, and walked every task of the project to sort its answers).
        """
        if user.is_superuser:
            return Q(pk__in=[])
        of_project = project.pk if project is not None else OuterRef(f"{via}project")
        paused = Membership.objects.filter(user=user.pk, project=of_project, paused_at__isnull=False)
        return Q(Exists(paused))


class Candidate(models.Model):
    """One output of a task: an image, or an LLM answer."""

    class ReviewState(models.TextChoices):
        NOT_APPLICABLE = "n/a", "Not applicable"
        ACCEPTED = "accepted", "Accepted automatically"
        NEEDS_REVIEW = "needs_review", "Needs review"
        REVIEWED = "reviewed", "Reviewed"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="candidates")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    index = models.PositiveSmallIntegerField(help_text="Position within the task, from 0.")
    image = models.FileField(upload_to="candidates/", blank=True)
    text = models.TextField(blank=True)
    model_name = models.CharField(max_length=500, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="Generation parameters: steps, guidance, size, negative prompt, scheduler…"
    )

    # Text answers: per-token log-probabilities and the uncertainty score's parts.
    token_logprobs = models.JSONField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    uncertainty = models.JSONField(default=dict, blank=True)
    review_state = models.CharField(max_length=15, choices=ReviewState.choices, default=ReviewState.NOT_APPLICABLE)
    review_reason = models.CharField(max_length=300, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "index"]
        indexes = [models.Index(fields=["review_state", "created_at"], name="candidate_review_idx")]
        constraints = [
            models.UniqueConstraint(fields=["task", "index"], name="candidate_unique_index_per_task"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="candidate_confidence_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id}#{self.index}"

    @property
    def vote_url(self) -> str:
        return reverse("labeling-vote", kwargs={"uid": self.uid})

    # An answer takes reviews while it waits for them; a gold answer also after that, from every reviewer it has
    # not had (its state follows the same rule as any answer's, so nothing on a page sets it apart).
    @property
    def open_to_review(self) -> bool:
        return self.review_state == self.ReviewState.NEEDS_REVIEW or (
            self.review_state == self.ReviewState.REVIEWED and self.task.gold is not None
        )

    @staticmethod
    def open_to_review_q() -> Q:
        """``open_to_review`` for a queryset of candidates."""
        return Q(review_state=Candidate.ReviewState.NEEDS_REVIEW) | Q(
            review_state=Candidate.ReviewState.REVIEWED, task__gold__isnull=False
        )
