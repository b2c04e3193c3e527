from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from labeling.models import Candidate, Project, Review, Task


def review_waiting(*, project: Project) -> QuerySet[Candidate]:
    """Answers of the project that still need review, oldest first."""
    return (
        Candidate.objects.filter(task__project=project, review_state=Candidate.ReviewState.NEEDS_REVIEW)
        .select_related("task__project")
        .order_by("created_at", "pk")
    )


def review_open_for(*, user, project: Project) -> QuerySet[Candidate]:
    """Answers this reviewer may take now: not reviewed by them, with a review slot not filled or held by others."""
    now = timezone.now()
    return (
        review_waiting(project=project)
        .exclude(reviews__reviewer=user)
        .annotate(
            review_count=Count("reviews", distinct=True),
            held_by_others=Count(
                "review_reservations",
                filter=Q(review_reservations__expires_at__gt=now) & ~Q(review_reservations__user=user),
                distinct=True,
            ),
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
