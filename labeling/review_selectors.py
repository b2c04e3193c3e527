from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from labeling.models import Candidate, Project, Review, ReviewReservation, Task
from labeling.selectors import gold_due


def _taking_reviews(*, project: Project) -> QuerySet[Candidate]:
    """Answers of the project that take reviews (``Candidate.open_to_review``: gold ones too once reviewed)."""
    return (
        Candidate.objects.filter(Candidate.open_to_review_q(), task__project=project)
        .select_related("task__project")
        .order_by("created_at", "pk")
    )


def review_waiting_for(*, user, project: Project) -> QuerySet[Candidate]:
    """Answers waiting for review as this reviewer sees them: those that need review, and the gold answers they have
    not reviewed (to them those wait as any other does)."""
    needing = Q(review_state=Candidate.ReviewState.NEEDS_REVIEW)
    return _taking_reviews(project=project).filter(needing | ~Q(reviews__reviewer=user))


def with_reviews_missing(candidates: QuerySet[Candidate], *, project: Project) -> QuerySet[Candidate]:
    """Answers annotated with ``review_count`` and ``reviews_missing``: how many more reviews each needs.

    An answer needs the project's reviews per answer; where its reviewers' decisions differ, one more at a time,
    up to the project's most judgements per item (adaptive overlap). Gold answers follow the same rule; the queue
    hands them out regardless.
    """
    reviews = Review.objects.filter(candidate=OuterRef("pk")).values("candidate")
    decisions_differ = Exists(reviews.annotate(kinds=Count("decision", distinct=True)).filter(kinds__gt=1))
    return candidates.annotate(
        review_count=Coalesce(Subquery(reviews.annotate(n=Count("pk")).values("n")), 0)
    ).annotate(
        reviews_missing=Greatest(
            Value(project.reviews_per_answer) - F("review_count"),
            Case(When(decisions_differ & Q(review_count__lt=project.max_judgements), then=Value(1)), default=Value(0)),
        )
    )


def review_open_for(*, user, project: Project) -> QuerySet[Candidate]:
    """Answers this reviewer may take now: not reviewed by them, with a review slot not filled or held by others
    (a gold answer has no slots to run out of); none while they are paused."""
    held_by_others = (
        ReviewReservation.objects.filter(candidate=OuterRef("pk"), expires_at__gt=timezone.now())
        .exclude(user=user)
        .values("candidate")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        with_reviews_missing(_taking_reviews(project=project), project=project)
        .exclude(reviews__reviewer=user)
        .filter(~Task.judge_paused_q(user, via="task__"))
        .annotate(held_by_others=Coalesce(Subquery(held_by_others), 0))
        .filter(Q(task__gold__isnull=False) | Q(held_by_others__lt=F("reviews_missing")))
    )


def review_queue_for(*, user, project: Project) -> QuerySet[Candidate]:
    """``review_open_for`` in the order the queue hands answers out: gold answers first when one is due for this
    reviewer (``labeling.selectors.gold_due``), after the others otherwise; oldest first within each."""
    reviewed = Review.objects.filter(reviewer=user, candidate__task__project=project).aggregate(
        judged=Count("pk"), gold=Count("pk", filter=Q(candidate__task__gold__isnull=False))
    )
    due = gold_due(
        judged=reviewed["judged"],
        gold_judged=reviewed["gold"],
        share=project.gold_share,
        seed=f"review:{project.pk}:{user.pk}",
    )
    ordinary = ExpressionWrapper(Q(task__gold__isnull=True), output_field=BooleanField())
    return (
        review_open_for(user=user, project=project)
        .alias(ordinary=ordinary)
        .order_by("ordinary" if due else "-ordinary", "created_at", "pk")
    )


def review_held_by(*, user, project: Project) -> Candidate | None:
    """The answer this reviewer holds right now, if it still waits for their review."""
    return (
        _taking_reviews(project=project)
        .filter(review_reservations__user=user, review_reservations__expires_at__gt=timezone.now())
        .filter(~Task.judge_paused_q(user, via="task__"))
        .exclude(reviews__reviewer=user)
        .first()
    )


def review_of(*, user, candidate: Candidate) -> Review | None:
    return Review.objects.filter(reviewer=user, candidate=candidate).first()


def pair_next_for(*, user, project: Project) -> Task | None:
    """The oldest two-answer task this user has not compared and may judge."""
    return (
        Task.objects.filter(project=project, status=Task.Status.READY)
        .filter(Task.judgeable_by_q(user))
        .annotate(answer_count=Count("candidates"))
        .filter(answer_count=2)
        .exclude(preferences__user=user)
        .order_by("created_at", "pk")
        .first()
    )
