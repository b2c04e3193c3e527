import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

DEFAULT_HEDGE_WORDS = "maybe\npossibly\nuncertain\nnot sure\nI think\nmight"


def history_by(owner: str | None = None):
    """Who a history row says made a change: the person whose request made it (the admin, a page), or outside a
    request (a service called by a task or a command) the row's own ``owner`` (a vote's voter)."""

    def acting_user(*, instance, request, **kwargs):
        if request is not None:
            return request.user
        return getattr(instance, owner) if owner else None

    return acting_user


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

    # Quality thresholds (quality/annotators.py): a figure resting on fewer items says "not enough overlap";
    # a person's figure past a threshold flags them on the Quality page.
    quality_min_items = models.PositiveSmallIntegerField(
        "fewest items behind a figure", default=5, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    quality_min_gold_accuracy = models.FloatField(
        "lowest gold accuracy", default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    quality_min_agreement = models.FloatField(
        "lowest agreement with the others", default=0.6, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    quality_max_identical_share = models.FloatField(
        "highest share of identical answers in a row",
        default=0.9,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    quality_min_seconds = models.FloatField(
        "fewest median seconds per judgement", default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(3600)]
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(get_user=history_by())

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
            models.CheckConstraint(condition=Q(quality_min_items__gte=1), name="project_quality_items_positive"),
            models.CheckConstraint(
                condition=Q(quality_min_gold_accuracy__gte=0)
                & Q(quality_min_gold_accuracy__lte=1)
                & Q(quality_min_agreement__gte=0)
                & Q(quality_min_agreement__lte=1)
                & Q(quality_max_identical_share__gte=0)
                & Q(quality_max_identical_share__lte=1),
                name="project_quality_shares_0_1",
            ),
            models.CheckConstraint(condition=Q(quality_min_seconds__gte=0), name="project_quality_seconds_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("labeling-project", kwargs={"slug": self.slug})

    @property
    def hedge_word_list(self) -> list[str]:
        return [line.strip() for line in self.hedge_words.splitlines() if line.strip()]


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
    history = HistoricalRecords(get_user=history_by())

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

    @classmethod
    def is_paused(cls, user, project_id: int) -> bool:
        """Whether a manager paused the user in the project: no tasks for them, and nothing they send is recorded.
        A superuser acts as a manager everywhere and is never paused."""
        return (
            not user.is_superuser
            and cls.objects.filter(user=user.pk, project=project_id, paused_at__isnull=False).exists()
        )


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
        return Membership.is_paused(user, self.project_id)

    @staticmethod
    def judgeable_by_q(user, *, via: str = "") -> Q:
        """``judgeable_by`` for a queryset of tasks, or of rows that reach their task through ``via`` ("task__")."""
        own_prompt = Q(
            **{
                f"{via}project__forbid_self_voting": True,
                f"{via}source": Task.Source.TYPED,
                f"{via}created_by": user.pk,
            }
        )
        return ~own_prompt & ~Task.judge_paused_q(user, via=via)

    @staticmethod
    def judge_paused_q(user, *, via: str = "") -> Q:
        """``Membership.is_paused`` for a queryset of tasks, or of rows that reach their task through ``via``."""
        if user.is_superuser:
            return Q(pk__in=[])
        paused = Membership.objects.filter(user=user.pk, project=OuterRef(f"{via}project"), paused_at__isnull=False)
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
    # labeling/votes.py writes this history in the vote's own statement; kept cheap for the busiest request: no index
    # on the voter (the task's history reads it by candidate) and no foreign-key check of the acting user (the
    # vote's own row has just checked that user).
    history = HistoricalRecords(get_user=history_by("user"), no_db_index=["user"], user_db_constraint=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "candidate"], name="vote_one_per_user_candidate"),
            models.CheckConstraint(condition=Q(value__in=[-1, 0, 1]), name="vote_value_valid"),
        ]
        indexes = [
            # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="vote_updated_id_idx"),
            # My progress: a person's votes since a time, without reading the rest of their history.
            models.Index(fields=["user", "created_at"], name="vote_user_time_idx"),
        ]

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
    history = HistoricalRecords(get_user=history_by("user"), no_db_index=["user", "chosen"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "task"], name="preference_one_per_user_task"),
            models.CheckConstraint(
                condition=(Q(choice="best") & Q(chosen__isnull=False))
                | (Q(choice__in=["tie", "all_bad"]) & Q(chosen__isnull=True)),
                name="preference_best_names_a_candidate",
            ),
        ]
        # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
        indexes = [models.Index(fields=["updated_at", "id"], name="preference_updated_id_idx")]

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
    history = HistoricalRecords(get_user=history_by("reviewer"), no_db_index=["reviewer"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "candidate"], name="review_one_per_reviewer_candidate"),
            models.CheckConstraint(
                condition=~Q(decision="correct") | ~Q(corrected_text=""), name="review_correction_has_text"
            ),
        ]
        # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
        indexes = [models.Index(fields=["updated_at", "id"], name="review_updated_id_idx")]

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


class QueueMarker(models.Model):
    """Where "Next task" starts looking for one annotator in one project.

    Every ready task up to this place in the queue is one they have finished or may not judge, so the queue
    never walks their history again: a press costs the same after 20,000 tasks as after none. A task that joins
    the queue later (made ready, reopened) gets a later place (``Task.queued_at``) and so lands after it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # The place of the last task passed: (queued_at, id), the queue's order; null before any. Not a foreign key:
    # the task may go.
    queued_at = models.DateTimeField(null=True)
    task_id = models.BigIntegerField(null=True)
    # What the queue has handed this person, counted as it hands out: the gold schedule reads these instead of
    # counting their judgements (labeling.selectors.gold_due).
    handed_out = models.PositiveIntegerField(default=0)
    gold_handed_out = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="queue_marker_one_per_user_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project}: past task {self.task_id}"


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
