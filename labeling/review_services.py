"""Reviewing LLM answers (accept, correct, reject) and comparing two answers of a task."""

import itertools
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.models import Candidate, Preference, Project, Review, ReviewQueueCounts, ReviewReservation, Task
from labeling.models.queue import hand_out_count
from labeling.review_selectors import (
    review_first_open,
    review_held_by,
    review_queue_for,
    review_standing,
    reviews_missing_of,
)
from labeling.signals import review_completed
from labeling.votes import PAUSED_MESSAGE, JudgePaused, VotingError, preference_record


class ReviewError(ValueError):
    """A review that cannot be saved as sent; the message says why and nothing was changed."""


class ReviewerPaused(ReviewError):
    """A manager of the project paused this reviewer; nothing they send is recorded."""


# How often a part of the queue is looked at again when another reviewer took the answer it was about to hold.
CLAIM_ATTEMPTS = 5


def review_reserve_next(*, user, project: Project) -> Candidate | None:
    """Hold the answer this reviewer already holds, or the first of ``review_queue_for``, for a few minutes.

    The row lock makes two reviewers asking at once get different answers: the queue first passes over answers
    others have locked, then waits for them (an answer may have a slot left for a second reviewer).
    """
    expires_at = timezone.now() + timedelta(seconds=settings.REVIEW_RESERVATION_SECONDS)
    with transaction.atomic():
        held = review_held_by(user=user, project=project)
        if held is not None:
            ReviewReservation.objects.filter(candidate=held, user=user).update(expires_at=expires_at)
            return held
        parts = review_queue_for(user=user, project=project)
        for lock, gold in itertools.product(("skip", "wait"), parts):
            for _attempt in range(CLAIM_ATTEMPTS):
                locked = review_first_open(user=user, project=project, gold=gold, lock=lock)
                if locked is None:
                    break
                # A new statement sees every hold committed before the lock was ours, which the statement that
                # found the answer may have missed: another reviewer may have taken its last slot meanwhile.
                if review_first_open(user=user, project=project, gold=gold, answer=locked) is None:
                    continue
                ReviewReservation.objects.bulk_create(
                    [ReviewReservation(candidate=locked, user=user, expires_at=expires_at)],
                    update_conflicts=True,
                    unique_fields=["candidate", "user"],
                    update_fields=["expires_at"],
                )
                hand_out_count(ReviewQueueCounts, user=user, project=project, gold=gold)
                return locked
    return None


def review_submit(
    *, reviewer, candidate: Candidate, decision: str, corrected_text: str = "", reason: str = ""
) -> Review:
    """Record one reviewer's decision; once the answer has the reviews it needs (``with_reviews_missing``), it is
    reviewed. A gold answer takes reviews from every reviewer the queue hands it to."""
    if decision not in Review.Decision.values:
        raise ReviewError(f"Unknown decision {decision!r}; choose accept, correct or reject.")
    corrected_text = corrected_text.strip() if decision == Review.Decision.CORRECT else ""
    if decision == Review.Decision.CORRECT:
        if not corrected_text:
            raise ReviewError("The correction is empty. Write the corrected answer, or reject the answer instead.")
        if corrected_text == candidate.text.strip():
            raise ReviewError("The correction is the same as the answer. Accept it instead, or change the text.")
    task = candidate.task
    if task.judge_paused(reviewer):
        raise ReviewerPaused(PAUSED_MESSAGE.format(project=task.project.name))
    with transaction.atomic():
        locked = Candidate.objects.select_for_update().get(pk=candidate.pk)
        # A statement of its own after the lock: it sees every review and hold committed before the lock was ours.
        standing = review_standing(user=reviewer, candidate=locked, project=task.project)
        if standing["reviewed"]:
            raise ReviewError("You have already reviewed this answer; your earlier review stands.")
        locked.task = task
        if locked.review_state == Candidate.ReviewState.REVIEWED and not locked.open_to_review:
            raise ReviewError("This answer has already been reviewed by someone else; nothing was changed.")
        if not locked.open_to_review:
            raise ReviewError("This answer is not waiting for review.")
        if task.gold is None and not standing["hold"] and standing["held_by_others"] >= standing["reviews_missing"]:
            raise ReviewError("Another reviewer is working on this answer; take the next one from the queue.")
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    reviewer=reviewer,
                    candidate=locked,
                    decision=decision,
                    original_text=locked.text,
                    corrected_text=corrected_text,
                    reason=reason.strip(),
                )
        except IntegrityError:
            raise ReviewError("You have already reviewed this answer; your earlier review stands.") from None
        if standing["hold"]:
            ReviewReservation.objects.filter(candidate=locked, user=reviewer).delete()
        review_states_sync(task=task)
    return review


def review_states_sync(*, task: Task) -> int:
    """Mark the task's answers reviewed that have every review they need, and announce each (review_completed)."""
    done = [answer_id for answer_id, missing in reviews_missing_of(task=task).items() if missing <= 0]
    Candidate.objects.filter(pk__in=done).update(review_state=Candidate.ReviewState.REVIEWED)
    for candidate_id in done:
        review_completed.send(sender=Candidate, candidate_id=candidate_id)
    return len(done)


PAIR_CHOICES = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both are bad"}


def pair_preference_record(*, user, task: Task, choice: str) -> Preference:
    """One user's comparison of a task's two answers: A or B better (best + chosen), tie, or both bad (all_bad)."""
    if choice not in PAIR_CHOICES:
        raise ReviewError(f"Unknown choice {choice!r}; choose one of: {', '.join(PAIR_CHOICES)}.")
    if task.project.kind != Project.Kind.TEXT:
        raise ReviewError("Answer comparison is for text projects.")
    answers = list(task.candidates.order_by("index"))
    if len(answers) != 2:
        raise ReviewError("This task does not have exactly two answers to compare.")
    values = {
        "a": (Preference.Choice.BEST, answers[0]),
        "b": (Preference.Choice.BEST, answers[1]),
        "tie": (Preference.Choice.TIE, None),
        "both_bad": (Preference.Choice.ALL_BAD, None),
    }
    preference_choice, chosen = values[choice]
    try:
        return preference_record(user=user, task=task, choice=preference_choice, chosen=chosen)
    except JudgePaused as error:
        raise ReviewerPaused(str(error)) from error
    except VotingError as error:
        raise ReviewError(str(error)) from error
