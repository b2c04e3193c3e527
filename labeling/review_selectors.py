from collections.abc import Iterator

from django.db.models import (
    Case,
    Count,
    Exists,
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

from labeling.models import Candidate, Project, Review, ReviewQueueCounts, ReviewReservation, Task
from labeling.selectors import gold_due

# The answers of gold tasks: the queue hands each to every reviewer who has not reviewed it, reviewed or not.
_GOLD = Q(task__gold__isnull=False)


def _taking_reviews(*, project: Project, gold: bool | None = None) -> QuerySet[Candidate]:
    """Answers of the project that take reviews (``Candidate.open_to_review``: gold ones too once reviewed);
    ``gold``: only the gold ones (True) or only the others (False)."""
    part = {
        None: Candidate.open_to_review_q(),
        True: Candidate.open_to_review_q() & _GOLD,
        # An ordinary answer takes reviews exactly while it needs them, said in so many words: PostgreSQL walks
        # the index of waiting answers only for a statement that names their state alone.
        False: Q(review_state=Candidate.ReviewState.NEEDS_REVIEW, task__gold__isnull=True),
    }[gold]
    return (
        Candidate.objects.filter(part, task__project=project)
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


def review_open_for(*, user, project: Project, gold: bool | None = None) -> QuerySet[Candidate]:
    """Answers this reviewer may take now: not reviewed by them, with a review slot not filled or held by others
    (a gold answer has no slots to run out of); none while they are paused. ``gold``: only the gold answers (True)
    or only the others (False), each part's conditions at the top of its statement, so that PostgreSQL walks the
    part's index in the queue's order and stops at the first answer that qualifies.
    """
    candidates = (
        _taking_reviews(project=project, gold=gold)
        .exclude(reviews__reviewer=user)
        .filter(~Task.judge_paused_q(user, via="task__", project=project))
    )
    if gold:
        return candidates
    free_slot = Q(held_by_others__lt=F("reviews_missing"))
    return (
        with_reviews_missing(candidates, project=project)
        .annotate(held_by_others=_held_by_others(user))
        .filter(free_slot if gold is False else _GOLD | free_slot)
    )


def _held_by_others(user) -> Coalesce:
    """For a queryset of answers: how many other reviewers hold the answer now."""
    holds = (
        ReviewReservation.objects.filter(candidate=OuterRef("pk"), expires_at__gt=timezone.now())
        .exclude(user=user)
        .values("candidate")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(holds), 0)


def review_standing(*, user, candidate: Candidate, project: Project) -> dict:
    """What decides whether the reviewer may review the answer now, read in one statement: ``reviews_missing``
    (``with_reviews_missing``), ``held_by_others``, and whether they have ``reviewed`` it or ``hold`` it (a hold
    of theirs counts, expired or not)."""
    answer = Candidate.objects.filter(pk=candidate.pk)
    return (
        with_reviews_missing(answer, project=project)
        .annotate(
            held_by_others=_held_by_others(user),
            reviewed=Exists(Review.objects.filter(reviewer=user, candidate=OuterRef("pk"))),
            hold=Exists(ReviewReservation.objects.filter(user=user, candidate=OuterRef("pk"))),
        )
        .values("reviews_missing", "held_by_others", "reviewed", "hold")
        .get()
    )


def _review_gold_due_for(*, user, project: Project) -> bool:
    """``gold_due`` from what the queue has handed the reviewer so far (ReviewQueueCounts, not their history)."""
    handed, gold = ReviewQueueCounts.objects.filter(user=user, project=project).values_list(
        "handed_out", "gold_handed_out"
    ).first() or (0, 0)
    return gold_due(judged=handed, gold_judged=gold, share=project.gold_share, seed=f"review:{project.pk}:{user.pk}")


def review_queue_for(*, user, project: Project) -> Iterator[QuerySet[Candidate]]:
    """What the review queue hands this reviewer next, in order: the first answer of the first part that has one.

    Gold answers come first when one is due for this reviewer (``labeling.selectors.gold_due``) and after the
    others otherwise; oldest first within each part. Each part is made when it is asked for: most presses need
    only the first.
    """
    parts = (True, False) if _review_gold_due_for(user=user, project=project) else (False, True)
    return (review_open_for(user=user, project=project, gold=gold) for gold in parts)


def review_held_by(*, user, project: Project) -> Candidate | None:
    """The answer this reviewer holds right now, if it still waits for their review."""
    now = timezone.now()
    holds = ReviewReservation.objects.filter(user=user, expires_at__gt=now, candidate__task__project=project)
    held = list(holds.values_list("candidate", flat=True))
    if not held:
        # Most presses follow a saved review, which gave its hold up: a look at the holds alone settles those.
        return None
    return (
        _taking_reviews(project=project)
        .filter(pk__in=held)
        .filter(~Task.judge_paused_q(user, via="task__", project=project))
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
