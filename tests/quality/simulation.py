"""A simulated image project: honest annotators, one who clicks at random and one who always says 👍."""

import random
from datetime import timedelta

from django.utils import timezone

from labeling.models import Vote
from tests.factories import make_plain_task, member

TASKS, CANDIDATES, GOLD_TASKS = 30, 4, 8
SECONDS_APART = 6


def _answer(kind: str, truth: int, rng: random.Random) -> int:
    if kind == "honest":
        return truth if rng.random() < 0.95 else -truth
    if kind == "random":
        return rng.choice((1, -1))
    return 1  # always 👍


def simulate(
    project, people=(("hana", "honest"), ("hugo", "honest"), ("hal", "honest"), ("rex", "random"), ("alf", "always_up"))
) -> dict:
    """Tasks whose candidates are truly good or bad (the first ``GOLD_TASKS`` are gold and say so), and each
    person voting on every candidate, ``SECONDS_APART`` seconds apart. Returns {username: user}."""
    rng = random.Random(14)
    truths: dict[int, int] = {}
    for number in range(TASKS):
        values = [rng.choice((1, -1)) for _ in range(CANDIDATES)]
        gold = None
        if number < GOLD_TASKS:
            gold = {"ratings": {str(i): "good" if value > 0 else "bad" for i, value in enumerate(values)}}
        task = make_plain_task(project, candidates=CANDIDATES, prompt=f"bird {number}", gold=gold)
        for candidate_id, value in zip(
            task.candidates.order_by("index").values_list("pk", flat=True), values, strict=True
        ):
            truths[candidate_id] = value
    users = {}
    start = timezone.now() - timedelta(days=1)
    for name, kind in people:
        user = users[name] = member(project, name)
        votes = Vote.objects.bulk_create(
            Vote(user=user, candidate_id=candidate_id, value=_answer(kind, truth, rng))
            for candidate_id, truth in truths.items()
        )
        for position, vote in enumerate(votes):
            at = start + timedelta(seconds=position * SECONDS_APART)
            Vote.objects.filter(pk=vote.pk).update(created_at=at, updated_at=at)
    return users
