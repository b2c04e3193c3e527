"""The review queue's rule is stated in two forms: the ORM's (``review_open_for``, ``with_reviews_missing``: the
project page's panel, the Review link) and the SQL of the reviewer's press and save (labeling/review_selectors.py).
These tests hold the two to the same answers over answers in every state a reviewer meets."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Candidate, Membership, Review, ReviewReservation, Task
from labeling.review_selectors import (
    review_first_open,
    review_open_for,
    review_standing,
    reviews_missing_of,
    with_reviews_missing,
)
from tests.factories import make_user, member

STATES = Candidate.ReviewState


def _answers(project, me, others) -> list[Candidate]:
    """Answers in the states that decide the rule: reviews by others (agreeing or not), by me, holds of others
    (live or expired) and mine, gold, and answers not waiting for review."""
    later = timezone.now() + timedelta(minutes=5)
    earlier = timezone.now() - timedelta(minutes=5)
    made = []

    def answer(*, state=STATES.NEEDS_REVIEW, gold=None, decisions=(), reviewers=None, holders=(), expires=later):
        task = Task.objects.create(project=project, prompt=f"q{len(made)}", source="batch", status="ready", gold=gold)
        candidate = Candidate.objects.create(task=task, index=0, text="an answer", review_state=state)
        for reviewer, decision in zip(reviewers or others, decisions, strict=False):
            corrected = "fixed" if decision == "correct" else ""
            Review.objects.create(
                reviewer=reviewer, candidate=candidate, decision=decision, original_text="x", corrected_text=corrected
            )
        for holder in holders:
            ReviewReservation.objects.create(candidate=candidate, user=holder, expires_at=expires)
        made.append(candidate)

    answer()
    answer(decisions=["accept"])
    answer(decisions=["accept", "accept"])
    answer(decisions=["accept", "reject"])
    answer(decisions=["accept", "reject", "correct"])
    answer(decisions=["accept", "reject"], reviewers=[me, others[0]])
    answer(holders=[others[0]])
    answer(holders=[others[0], others[1]])
    answer(holders=[others[0]], expires=earlier)
    answer(decisions=["accept"], holders=[others[1]])
    answer(holders=[me])
    answer(gold={"decisions": {"0": "accept"}})
    answer(gold={"decisions": {"0": "accept"}}, decisions=["accept"], reviewers=[me])
    answer(state=STATES.REVIEWED, gold={"decisions": {"0": "accept"}}, decisions=["accept"], reviewers=[me])
    answer(state=STATES.REVIEWED, gold={"decisions": {"0": "accept"}}, decisions=["accept"])
    answer(state=STATES.REVIEWED, decisions=["accept"])
    answer(state=STATES.ACCEPTED)
    return made


@pytest.mark.parametrize(
    ("per_answer", "most", "paused", "superuser"), list(itertools.product([1, 2], [2, 3], [False, True], [False, True]))
)
def test_the_queues_sql_and_the_orm_agree(text_project, per_answer, most, paused, superuser):
    text_project.reviews_per_answer = per_answer
    text_project.max_judgements = most
    text_project.save()
    me = member(text_project, "me", role=Membership.Role.REVIEWER)
    if superuser:
        me.is_superuser = True
        me.save()
    if paused:
        Membership.objects.filter(user=me).update(paused_at=timezone.now())
    others = [make_user(f"other{n}") for n in range(3)]
    answers = _answers(text_project, me, others)

    orm = review_open_for(user=me, project=text_project)
    for gold in (True, False):
        part = list(orm.filter(task__gold__isnull=not gold).values_list("pk", flat=True))
        sql = [a.pk for a in answers if review_first_open(user=me, project=text_project, gold=gold, answer=a)]
        assert sql == part
        first = review_first_open(user=me, project=text_project, gold=gold)
        assert (first.pk if first else None) == (part[0] if part else None)
        assert (part != []) == (not paused or superuser), "the rule is exercised both ways"

    orm_missing = with_reviews_missing(Candidate.objects.all(), project=text_project)
    missing = dict(orm_missing.values_list("pk", "reviews_missing"))
    for answer in answers:
        waiting = {answer.pk: missing[answer.pk]} if answer.review_state == STATES.NEEDS_REVIEW else {}
        assert reviews_missing_of(task=answer.task) == waiting
        standing = review_standing(user=me, candidate=answer, project=text_project)
        assert standing["reviews_missing"] == missing[answer.pk]
        assert standing["reviewed"] == Review.objects.filter(reviewer=me, candidate=answer).exists()
        assert standing["hold"] == ReviewReservation.objects.filter(user=me, candidate=answer).exists()
        held = orm.model.objects.filter(pk=answer.pk)
        assert standing["held_by_others"] == (
            ReviewReservation.objects.filter(candidate__in=held, expires_at__gt=timezone.now()).exclude(user=me).count()
        )
