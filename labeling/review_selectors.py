from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from labeling.models import Candidate, Project, Review, ReviewReservation, Task


def review_waiting(*, project: Project) -> QuerySet[Candidate]:
    """Answers of the project that still need review, oldest first."""
    return (
        Candidate.objects.filter(task__project=project, review_state=Candidate.ReviewState.NEEDS_REVIEW)
        .select_related("task__project")
        .order_by("created_at", "pk")
    )


def review_open_for(*, user, project: Project) -> QuerySet[Candidate]:
    """Answers this reviewer may take now: not reviewed by them, with a review slot not filled or held by others.

    Subqueries per answer rather than joined counts, so PostgreSQL walks the waiting answers oldest first and
    stops at the first open one instead of grouping them all.
    """
    now = timezone.now()
    reviews = Review.objects.filter(candidate=OuterRef("pk")).order_by().values("candidate")
    held_by_others = (
        ReviewReservation.objects.filter(candidate=OuterRef("pk"), expires_at__gt=now)
        .exclude(user=user)
        .order_by()
        .values("candidate")
    )
    return (
        review_waiting(project=project)
        .filter(~Exists(reviews.filter(reviewer=user)))
        .annotate(
            review_count=Coalesce(Subquery(reviews.annotate(n=Count("pk")).values("n")), 0),
            held_by_others=Coalesce(Subquery(held_by_others.annotate(n=Count("pk")).values("n")), 0),
        )
        .annotate(slots_taken=F("review_count") + F("held_by_others"))
        .filter(slots_taken__lt=project.reviews_per_answer)
    )


def review_held_by(*, user, project: Project) -> Candidate | None:
    """The answer this reviewer holds right now, if it still waits for their review."""
    return (
        review_waiting(project=project)
        .filter(review_reservations__user=user, review_reservations__expires_at__gt=timezone.now())
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
