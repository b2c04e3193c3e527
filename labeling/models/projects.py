"""Projects, their members and roles, and prompt batches."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
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


# Where ``Membership.of`` keeps what it read, on the project object.
_MEMBERSHIPS_READ = "memberships_read"


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
    def of(cls, user, project: Project) -> "Membership | None":
        """The user's membership of the project (None for outsiders; a superuser acts as its manager), read once per
        project object: the access check, the view, its templates and the pause check of one request share it."""
        if user.is_superuser:
            return cls(user=user, project=project, role=cls.Role.MANAGER)
        read = project.__dict__.setdefault(_MEMBERSHIPS_READ, {})
        if user.pk not in read:
            read[user.pk] = cls.objects.filter(user=user, project=project).first()
        return read[user.pk]

    @classmethod
    def is_paused(cls, user, project: Project) -> bool:
        """Whether a manager paused the user in the project: no tasks for them, and nothing they send is recorded.
        A superuser acts as a manager everywhere and is never paused.

        Answered from the membership already read for this project object (``of``, which the access check calls a
        moment earlier in the same request) when there is one; else asked afresh, so that a service holding an
        object for longer never acts on a pause read before it.
        """
        if user.is_superuser:
            return False
        read = project.__dict__.get(_MEMBERSHIPS_READ, {})
        if user.pk in read:
            return read[user.pk] is not None and read[user.pk].paused_at is not None
        return cls.objects.filter(user=user.pk, project=project, paused_at__isnull=False).exists()


class PromptBatch(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    prompt_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its last task was done and that was announced (labeling/signals.py): set once, so it is announced once.
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "prompt batches"

    def __str__(self) -> str:
        return self.name
