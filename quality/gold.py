"""Gold accuracy: how often a person's judgement on a gold (control) task matches its expected one.

What counts, one judgement each:

- a 👍 / 👎 on a candidate the gold rates ("good" expects 👍, "bad" 👎); withdrawn votes do not count;
- a best pick on a task whose gold names a "best": the same candidate, or "tie" / "all_bad" alike;
- a review of an answer the gold has a decision for: the same decision, and for "correct" also the same
  accepted text once whitespace is normalised (runs of spaces, tabs and newlines read as one space, ends
  stripped; case and punctuation count).

Judgements on gold tasks the gold says nothing about (a candidate it does not rate) do not count.
"""

from collections import defaultdict
from dataclasses import dataclass

from labeling.models import Preference, Project, Review, Task, Vote

GOLD_RATINGS = {"good": Vote.Value.UP, "bad": Vote.Value.DOWN}


def normalised_text(text: str) -> str:
    return " ".join(text.split())


@dataclass
class GoldScore:
    correct: int = 0
    total: int = 0

    def add(self, matches: bool) -> None:
        self.correct += matches
        self.total += 1

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass
class GoldKey:
    """A project's expected judgements, from its gold tasks."""

    ratings: dict[tuple[int, int], int]  # (task id, candidate index) → expected vote value
    best: dict[int, tuple[str, int | None]]  # task id → (choice, chosen candidate index for "best")
    decisions: dict[tuple[int, int], tuple[str, str]]  # (task id, candidate index) → (decision, normalised text)


def gold_key_of(*, project: Project) -> GoldKey:
    key = GoldKey(ratings={}, best={}, decisions={})
    for task_id, gold in Task.objects.filter(project=project, gold__isnull=False).values_list("pk", "gold"):
        if not isinstance(gold, dict):
            continue
        for index, rating in (gold.get("ratings") or {}).items():
            if rating in GOLD_RATINGS and str(index).isdigit():
                key.ratings[task_id, int(index)] = GOLD_RATINGS[rating]
        best = gold.get("best")
        if best in (Preference.Choice.TIE, Preference.Choice.ALL_BAD):
            key.best[task_id] = (best, None)
        elif isinstance(best, int) and not isinstance(best, bool):
            key.best[task_id] = (Preference.Choice.BEST, best)
        for index, expected in (gold.get("decisions") or {}).items():
            if (
                str(index).isdigit()
                and isinstance(expected, dict)
                and expected.get("decision") in Review.Decision.values
            ):
                text = normalised_text(str(expected.get("text") or ""))
                key.decisions[task_id, int(index)] = (expected["decision"], text)
    return key


def gold_scores(*, project: Project) -> dict[int, GoldScore]:
    """Per person (user id): gold judgements and how many matched, counted exactly as the module says."""
    key = gold_key_of(project=project)
    scores: dict[int, GoldScore] = defaultdict(GoldScore)
    on_gold = {"task__project": project, "task__gold__isnull": False}
    if key.ratings:
        votes = (
            Vote.objects.filter(**{f"candidate__{name}": value for name, value in on_gold.items()})
            .exclude(value=Vote.Value.WITHDRAWN)
            .values_list("user_id", "candidate__task_id", "candidate__index", "value")
        )
        for user_id, task_id, index, value in votes:
            expected = key.ratings.get((task_id, index))
            if expected is not None:
                scores[user_id].add(value == expected)
    if key.best:
        picks = Preference.objects.filter(**on_gold).values_list("user_id", "task_id", "choice", "chosen__index")
        for user_id, task_id, choice, chosen_index in picks:
            expected = key.best.get(task_id)
            if expected is not None:
                scores[user_id].add((choice, chosen_index if choice == Preference.Choice.BEST else None) == expected)
    if key.decisions:
        reviews = Review.objects.filter(**{f"candidate__{name}": value for name, value in on_gold.items()})
        rows = reviews.values_list(
            "reviewer_id", "candidate__task_id", "candidate__index", "decision", "corrected_text"
        )
        for user_id, task_id, index, decision, corrected in rows:
            expected = key.decisions.get((task_id, index))
            if expected is not None:
                scores[user_id].add(_review_matches(decision, corrected, expected))
    return dict(scores)


def _review_matches(decision: str, corrected_text: str, expected: tuple[str, str]) -> bool:
    expected_decision, expected_text = expected
    if decision != expected_decision:
        return False
    if decision == Review.Decision.CORRECT and expected_text:
        return normalised_text(corrected_text) == expected_text
    return True
