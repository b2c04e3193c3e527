from django.db import connection
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
    (a gold answer has no slots to run out of); none while they are paused. The queue's press reads the same rule
    in its SQL form (``review_first_open``)."""
    return (
        with_reviews_missing(_taking_reviews(project=project), project=project)
        .exclude(reviews__reviewer=user)
        .filter(~Task.judge_paused_q(user, via="task__", project=project))
        .annotate(held_by_others=_held_by_others(user))
        .filter(_GOLD | Q(held_by_others__lt=F("reviews_missing")))
    )


# The rule's SQL form, for the statements of a reviewer's press and save, which the ORM took longer to build than
# the database to run. The reviews an answer (its id at {answer}) misses: the reviews per answer, or one more at a
# time while its decisions differ, up to the most judgements per item (``with_reviews_missing``); how many other
# reviewers hold it now (CASE for GREATEST, which SQLite lacks). tests/labeling/test_review_rule.py holds the two
# forms to the same answers.
_DECISIONS_SPLIT_SQL = "CASE WHEN COUNT(DISTINCT r.decision) > 1 AND COUNT(*) < %(most)s THEN 1 ELSE 0 END"
_REVIEWS_MISSING_SQL = (
    f"(SELECT CASE WHEN %(per_answer)s - COUNT(*) > {_DECISIONS_SPLIT_SQL}"  # noqa: S608
    f" THEN %(per_answer)s - COUNT(*) ELSE {_DECISIONS_SPLIT_SQL} END"
    " FROM labeling_review r WHERE r.candidate_id = {answer})"
)
_HELD_BY_OTHERS_SQL = (
    "(SELECT COUNT(*) FROM labeling_reviewreservation h"
    " WHERE h.candidate_id = {answer} AND h.expires_at > %(now)s AND h.user_id <> %(user)s)"
)
# The queue's parts (``review_open_for``), each on its own so that PostgreSQL walks its index in the queue's order:
# the answers of the project's gold tasks, which take reviews waiting or reviewed (``Candidate.open_to_review``) and
# have no slots to run out of; and the others, which take reviews exactly while they need them, from fewer other
# reviewers holding them than they miss reviews. Either way the reviewer has not reviewed the answer and is not
# paused in the project.
_PARTS_SQL = {
    True: "c.review_state IN (%(waiting)s, %(reviewed)s) AND t.gold IS NOT NULL",
    False: (
        "c.review_state = %(waiting)s AND t.gold IS NULL"
        f" AND {_HELD_BY_OTHERS_SQL.format(answer='c.id')} < {_REVIEWS_MISSING_SQL.format(answer='c.id')}"
    ),
}
_OPEN_SQL = (
    "SELECT c.* FROM labeling_candidate c JOIN labeling_task t ON t.id = c.task_id"  # noqa: S608
    " WHERE t.project_id = %(project)s AND {part}{only}"
    " AND NOT EXISTS (SELECT 1 FROM labeling_review r WHERE r.candidate_id = c.id AND r.reviewer_id = %(user)s)"
    "{not_paused}"
    " ORDER BY c.created_at, c.id LIMIT 1{lock}"
)
_NOT_PAUSED_SQL = (
    " AND NOT EXISTS (SELECT 1 FROM labeling_membership m"
    " WHERE m.user_id = %(user)s AND m.project_id = %(project)s AND m.paused_at IS NOT NULL)"
)
_STANDING_SQL = (
    f"SELECT {_REVIEWS_MISSING_SQL.format(answer='%(answer)s')},"  # noqa: S608
    f" {_HELD_BY_OTHERS_SQL.format(answer='%(answer)s')},"
    " EXISTS (SELECT 1 FROM labeling_review r WHERE r.candidate_id = %(answer)s AND r.reviewer_id = %(user)s),"
    " EXISTS (SELECT 1 FROM labeling_reviewreservation h WHERE h.candidate_id = %(answer)s AND h.user_id = %(user)s)"
)
_TASK_WAITING_SQL = (
    f"SELECT c.id, {_REVIEWS_MISSING_SQL.format(answer='c.id')} FROM labeling_candidate c"  # noqa: S608
    " WHERE c.task_id = %(task)s AND c.review_state = %(waiting)s"
)


def _rule_params(*, project: Project, user=None, **more) -> dict:
    return {
        "waiting": Candidate.ReviewState.NEEDS_REVIEW.value,
        "reviewed": Candidate.ReviewState.REVIEWED.value,
        "project": project.pk,
        "user": user.pk if user is not None else None,
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
        "per_answer": project.reviews_per_answer,
        "most": project.max_judgements,
        **more,
    }


def review_first_open(
    *, user, project: Project, gold: bool, lock: str = "", answer: Candidate | None = None
) -> Candidate | None:
    """The first answer of the queue's gold part or of its other part that the reviewer may take now (oldest
    first), or ``answer`` if it is one; ``lock``: locked, passing over answers others have locked ("skip") or
    waiting for them ("wait")."""
    locks = {"": "", "skip": " FOR UPDATE OF c SKIP LOCKED", "wait": " FOR UPDATE OF c"}
    sql = _OPEN_SQL.format(
        part=_PARTS_SQL[gold],
        only=" AND c.id = %(answer)s" if answer is not None else "",
        # A superuser acts as a manager everywhere and is never paused (Membership.is_paused).
        not_paused="" if user.is_superuser else _NOT_PAUSED_SQL,
        # SQLite takes no row locks: its transactions write one at a time.
        lock=locks[lock] if connection.features.has_select_for_update else "",
    )
    params = _rule_params(project=project, user=user, answer=answer.pk if answer is not None else None)
    return next(iter(Candidate.objects.raw(sql, params)), None)


def review_standing(*, user, candidate: Candidate, project: Project) -> dict:
    """What decides whether the reviewer may review the answer now, read in one statement: ``reviews_missing``,
    ``held_by_others``, and whether they have ``reviewed`` it or ``hold`` it (a hold of theirs counts, expired or
    not)."""
    with connection.cursor() as cursor:
        cursor.execute(_STANDING_SQL, _rule_params(project=project, user=user, answer=candidate.pk))
        missing, held_by_others, reviewed, hold = cursor.fetchone()
    return {
        "reviews_missing": missing,
        "held_by_others": held_by_others,
        "reviewed": bool(reviewed),
        "hold": bool(hold),
    }


def reviews_missing_of(*, task: Task) -> dict[int, int]:
    """The task's answers waiting for review, each with the reviews it misses."""
    with connection.cursor() as cursor:
        cursor.execute(_TASK_WAITING_SQL, _rule_params(project=task.project, task=task.pk))
        return dict(cursor.fetchall())


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


def _review_gold_due_for(*, user, project: Project) -> bool:
    """``gold_due`` from what the queue has handed the reviewer so far (ReviewQueueCounts, not their history)."""
    handed, gold = ReviewQueueCounts.objects.filter(user=user, project=project).values_list(
        "handed_out", "gold_handed_out"
    ).first() or (0, 0)
    return gold_due(judged=handed, gold_judged=gold, share=project.gold_share, seed=f"review:{project.pk}:{user.pk}")


def review_queue_for(*, user, project: Project) -> tuple[bool, bool]:
    """The parts of the review queue in the order it hands them out, as ``gold`` of ``review_first_open``: the
    first answer of the first part that has one goes next. Gold answers come first when one is due for this
    reviewer (``labeling.selectors.gold_due``) and after the others otherwise.
    """
    return (True, False) if _review_gold_due_for(user=user, project=project) else (False, True)


def review_held_by(*, user, project: Project) -> Candidate | None:
    """The answer this reviewer holds right now, if it still waits for their review."""
    holds = ReviewReservation.objects.filter(user=user, expires_at__gt=timezone.now())
    held = list(holds.values_list("candidate", flat=True))
    if not held:
        # Most presses follow a saved review, which gave its hold up: a look at the reviewer's holds (in any
        # project) settles those.
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
