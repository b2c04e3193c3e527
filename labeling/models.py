import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

DEFAULT_HEDGE_WORDS = "maybe\npossibly\nuncertain\nnot sure\nI think\nmight"


class Project(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image generation"
        TEXT = "text", "LLM answers"

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IMAGE)
    candidates_per_task = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(16)]
    )
    votes_per_candidate = models.PositiveSmallIntegerField(
        "overlap (votes needed per candidate)", default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    allow_free_prompts = models.BooleanField("annotators may enter their own prompts", default=True)
    forbid_self_voting = models.BooleanField("annotators may not judge outputs of their own prompts", default=True)

    image_model = models.CharField(
        max_length=500, blank=True, help_text="Hub id or local path; empty uses the SD_MODEL setting."
    )
    image_steps = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(150)]
    )
    image_guidance = models.FloatField(default=7.5, validators=[MinValueValidator(0.0), MaxValueValidator(30.0)])
    image_width = models.PositiveSmallIntegerField(
        default=512, validators=[MinValueValidator(64), MaxValueValidator(2048)]
    )
    image_height = models.PositiveSmallIntegerField(
        default=512, validators=[MinValueValidator(64), MaxValueValidator(2048)]
    )
    negative_prompt = models.TextField(blank=True)
    scheduler = models.CharField(
        max_length=100, blank=True, help_text="Diffusers scheduler class; empty keeps the model's."
    )

    text_model = models.CharField(max_length=200, blank=True)
    # An arena compares models: each task gets candidates from at least two of them, the model hidden from
    # annotators and the on-screen order shuffled (a candidate's index is its position).
    arena_models = models.TextField(
        blank=True,
        help_text=(
            "Arena: two or more models, one per line; each task gets candidates from at least two of them. "
            "Images: Stable Diffusion hub ids or local folders. Text: model names on the LLM server, or "
            "model@server for a server named in OPENAI_SERVERS. Empty: the single model above."
        ),
    )
    system_prompt = models.TextField(blank=True)
    temperature = models.FloatField(default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    max_tokens = models.PositiveIntegerField(default=512, validators=[MinValueValidator(1), MaxValueValidator(32768)])
    review_threshold = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Answers whose confidence is below this go to review.",
    )
    audit_share = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of confident answers also sent to review.",
    )
    hedge_words = models.TextField(default=DEFAULT_HEDGE_WORDS, blank=True, help_text="One word or phrase per line.")
    reviews_per_answer = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    gold_share = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of the queue's hand-outs that are gold (control) tasks.",
    )
    max_judgements = models.PositiveSmallIntegerField(
        "most judgements per item",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=(
            "A disputed item goes back to the queue for one more judgement until it has this many "
            "(no extra judgements when this is at or below the overlap)."
        ),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(candidates_per_task__gte=1) & Q(candidates_per_task__lte=16), name="project_candidates_1_16"
            ),
            models.CheckConstraint(condition=Q(votes_per_candidate__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(reviews_per_answer__gte=1), name="project_reviews_positive"),
            models.CheckConstraint(
                condition=Q(review_threshold__gte=0) & Q(review_threshold__lte=1), name="project_threshold_0_1"
            ),
            models.CheckConstraint(condition=Q(audit_share__gte=0) & Q(audit_share__lte=1), name="project_audit_0_1"),
            models.CheckConstraint(condition=Q(image_steps__gte=1), name="project_steps_positive"),
            models.CheckConstraint(condition=Q(gold_share__gte=0) & Q(gold_share__lte=1), name="project_gold_0_1"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("labeling-project", kwargs={"slug": self.slug})

    @property
    def hedge_word_list(self) -> list[str]:
        return [line.strip() for line in self.hedge_words.splitlines() if line.strip()]

    @property
    def arena_model_list(self) -> list[str]:
        """The arena's models in the order given, each once."""
        return list(dict.fromkeys(line.strip() for line in self.arena_models.splitlines() if line.strip()))

    @property
    def is_arena(self) -> bool:
        return bool(self.arena_model_list)

    def clean(self) -> None:
        super().clean()
        models_named = self.arena_model_list
        if len(models_named) == 1:
            raise ValidationError(
                {"arena_models": f"An arena compares two or more models; this one names only {models_named[0]!r}."}
            )
        if models_named and (self.candidates_per_task or 0) < 2:
            raise ValidationError(
                {"candidates_per_task": "An arena needs at least 2 candidates per task, one from each of two models."}
            )


class Membership(models.Model):
    class Role(models.TextChoices):
        ANNOTATOR = "annotator", "Annotator"
        REVIEWER = "reviewer", "Reviewer"
        MANAGER = "manager", "Manager"

    class Capability(models.TextChoices):
        ANNOTATE = "annotate"
        REVIEW = "review"
        MANAGE = "manage"

    # What each role may do; a manager may do everything in its project.
    CAPABILITIES = {
        Role.ANNOTATOR: {Capability.ANNOTATE},
        Role.REVIEWER: {Capability.ANNOTATE, Capability.REVIEW},
        Role.MANAGER: {Capability.ANNOTATE, Capability.REVIEW, Capability.MANAGE},
    }

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOTATOR)
    # Set by a manager from the Quality page: a paused person gets no more tasks; an excluded person's judgements
    # are flagged in exports and left out of the figures.
    paused_at = models.DateTimeField(null=True, blank=True)
    excluded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_one_per_user_project"),
            models.CheckConstraint(
                condition=Q(role__in=["annotator", "reviewer", "manager"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.project} ({self.role})"

    def can(self, capability: str) -> bool:
        return capability in self.CAPABILITIES[self.Role(self.role)]


class PromptBatch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    prompt_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "prompt batches"

    def __str__(self) -> str:
        return self.name


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The queue's order, id included: "Next" walks it and stops at the first open task, where an index
        # without the id left PostgreSQL sorting every ready task (with its vote counts) first.
        indexes = [models.Index(fields=["project", "status", "created_at", "id"], name="task_queue_order_idx")]
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

    # Who may judge a task: everyone in its project, except, where the project forbids it, the annotator who typed
    # its prompt. The method and the Q expression state the same rule (labeling/votes.py has its SQL form);
    # tests/labeling/test_judging_rule.py holds the three to the same answers.
    def judgeable_by(self, user) -> bool:
        return not (
            self.project.forbid_self_voting and self.source == self.Source.TYPED and self.created_by_id == user.pk
        )

    @staticmethod
    def judgeable_by_q(user, *, via: str = "") -> Q:
        """``judgeable_by`` for a queryset of tasks, or of rows that reach their task through ``via`` ("task__")."""
        return ~Q(
            **{
                f"{via}project__forbid_self_voting": True,
                f"{via}source": Task.Source.TYPED,
                f"{via}created_by": user.pk,
            }
        )


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


class Vote(models.Model):
    class Value(models.IntegerChoices):
        UP = 1, "👍"
        DOWN = -1, "👎"
        WITHDRAWN = 0, "withdrawn"

        @classmethod
        def from_request(cls, name: str) -> "Vote.Value | None":
            """The value a vote button sends ("up", "down", "withdraw"), or None for anything else."""
            return next((value for value, (sent, _) in VOTE_VALUE_NAMES.items() if sent == name), None)

        @property
        def request_name(self) -> str:
            return VOTE_VALUE_NAMES[self][0]

        @property
        def rating(self) -> str:
            """The value as the dataset's ``rating`` column writes it."""
            return VOTE_VALUE_NAMES[self][1]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="votes")
    # A withdrawn vote keeps its row so an export that already published it can publish the withdrawal.
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "candidate"], name="vote_one_per_user_candidate"),
            models.CheckConstraint(condition=Q(value__in=[-1, 0, 1]), name="vote_value_valid"),
        ]
        indexes = [models.Index(fields=["updated_at"], name="vote_updated_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_value_display()} {self.candidate}"


# What each vote value is called in a request (the buttons' values) and in the exported dataset.
VOTE_VALUE_NAMES = {
    Vote.Value.UP: ("up", "good"),
    Vote.Value.DOWN: ("down", "bad"),
    Vote.Value.WITHDRAWN: ("withdraw", "withdrawn"),
}


class Preference(models.Model):
    class Choice(models.TextChoices):
        BEST = "best", "Best"
        TIE = "tie", "Tie"
        ALL_BAD = "all_bad", "All bad"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="preferences")
    choice = models.CharField(max_length=10, choices=Choice.choices)
    chosen = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "task"], name="preference_one_per_user_task"),
            models.CheckConstraint(
                condition=(Q(choice="best") & Q(chosen__isnull=False))
                | (Q(choice__in=["tie", "all_bad"]) & Q(chosen__isnull=True)),
                name="preference_best_names_a_candidate",
            ),
        ]
        indexes = [models.Index(fields=["updated_at"], name="preference_updated_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.choice} {self.task_id}"


class Review(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept", "Accept"
        CORRECT = "correct", "Correct"
        REJECT = "reject", "Reject"

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    original_text = models.TextField(help_text="The answer as the reviewer saw it.")
    corrected_text = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "candidate"], name="review_one_per_reviewer_candidate"),
            models.CheckConstraint(
                condition=~Q(decision="correct") | ~Q(corrected_text=""), name="review_correction_has_text"
            ),
        ]
        indexes = [models.Index(fields=["updated_at"], name="review_updated_idx")]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} {self.candidate}"

    @property
    def final_text(self) -> str:
        return self.corrected_text if self.decision == self.Decision.CORRECT else self.original_text


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


class ReviewReservation(models.Model):
    """A short hold on an answer for one reviewer, so two reviewers never get it at the same moment."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="review_reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["candidate", "user"], name="review_reservation_one_per_user")]
        indexes = [models.Index(fields=["candidate", "expires_at"], name="review_reservation_idx")]

    def __str__(self) -> str:
        return f"{self.user} holds answer {self.candidate_id} until {self.expires_at:%H:%M:%S}"
