"""Gold (control) tasks: what a gold definition may say, checked once for the batch import and the admin alike,
and what setting one does to the task.

A gold task is a task with ``Task.gold`` set: the expected judgement by candidate index. Images:
``{"ratings": {"0": "good", "2": "bad"}, "best": 1 | "tie" | "all_bad"}`` (each key optional); LLM answers:
``{"decisions": {"0": {"decision": "accept" | "correct" | "reject", "text": "the accepted correction"}}}``.

A gold task's status (and a gold answer's review state) follows the same rules as any other's, so that no page
sets it apart (a complete one shows as ready to whoever has not judged it: ``tasks_as_shown_to``); the queue hands
it, complete or not, to each person who has not judged it, once (labeling/selectors.py,
labeling/review_selectors.py). A gold answer the uncertainty check accepted goes to review
as a random audit would.
"""

from dataclasses import dataclass

from django.db import transaction

from labeling.models import Candidate, Preference, Project, Review, Task

GOOD, BAD = "good", "bad"
RATINGS = (GOOD, BAD)
IMAGE_FIELDS = ("ratings", "best")
TEXT_FIELDS = ("decisions",)
# A gold answer that its uncertainty check accepted reaches the review queue as a random audit does, with the
# same reason shown (generation/uncertainty.py's RANDOM_AUDIT; a test holds the two equal).
AUDIT_REVIEW_REASON = "random audit"


class GoldError(ValueError):
    """A gold definition that cannot be used; the message names exactly what is wrong."""


@dataclass(frozen=True)
class GoldTarget:
    """What a gold definition is checked against: the task's project and the candidates it has (or will have)."""

    project: Project
    indexes: frozenset[int]
    answers: dict[int, str]  # LLM answers' texts by index

    @classmethod
    def for_task(cls, task: Task, *, project: Project | None = None) -> "GoldTarget":
        """The task as it is now; its candidates, or the project's number of them while none are made yet."""
        project = project or task.project
        candidates = dict(task.candidates.values_list("index", "text")) if task.pk else {}
        return cls.for_candidates(project, candidates)

    @classmethod
    def for_candidates(cls, project: Project, candidates: dict[int, str]) -> "GoldTarget":
        if project.kind == Project.Kind.IMAGE and not candidates:
            return cls(project=project, indexes=frozenset(range(project.candidates_per_task)), answers={})
        return cls(project=project, indexes=frozenset(candidates), answers=candidates)


def _index(key, *, target: GoldTarget, what: str) -> int:
    text = str(key).strip()
    if isinstance(key, bool) or not text.isdigit():
        raise GoldError(f"{what} {key!r} is not a candidate index (0, 1, 2, …)")
    index = int(text)
    if index not in target.indexes:
        if not target.indexes:
            raise GoldError(f"{what} {index} names an answer, but the task has no answers yet")
        have = ", ".join(str(number) for number in sorted(target.indexes))
        raise GoldError(f"{what} {index} names a candidate the task does not have (it has {have})")
    return index


def _image_gold(gold: dict, *, target: GoldTarget) -> dict:
    cleaned: dict = {}
    ratings = gold.get("ratings", {})
    if not isinstance(ratings, dict):
        raise GoldError("gold 'ratings' must be an object of candidate index → 'good' or 'bad'")
    if ratings:
        cleaned["ratings"] = {}
        for key, rating in ratings.items():
            index = _index(key, target=target, what="gold rating of candidate")
            if rating not in RATINGS:
                raise GoldError(f"gold rating of candidate {index} must be 'good' or 'bad', got {rating!r}")
            cleaned["ratings"][str(index)] = rating
    if "best" in gold:
        best = gold["best"]
        if len(target.indexes) < 2:
            raise GoldError("gold 'best' needs a task with at least two candidates")
        if best in (Preference.Choice.TIE, Preference.Choice.ALL_BAD):
            cleaned["best"] = str(best)
        elif isinstance(best, int) and not isinstance(best, bool):
            cleaned["best"] = _index(best, target=target, what="gold best")
        else:
            raise GoldError(f"gold 'best' must be a candidate index, 'tie' or 'all_bad', got {best!r}")
    return cleaned


def _text_gold(gold: dict, *, target: GoldTarget) -> dict:
    decisions = gold.get("decisions")
    if not isinstance(decisions, dict) or not decisions:
        raise GoldError("gold 'decisions' must be an object of answer index → {'decision': …}")
    cleaned = {}
    for key, expected in decisions.items():
        index = _index(key, target=target, what="gold decision for answer")
        if isinstance(expected, str):
            expected = {"decision": expected}
        if not isinstance(expected, dict):
            raise GoldError(f"gold decision for answer {index} must be an object with a 'decision'")
        unknown = sorted(set(expected) - {"decision", "text"})
        if unknown:
            raise GoldError(f"gold decision for answer {index} has unknown field {unknown[0]!r}")
        decision = expected.get("decision")
        if decision not in Review.Decision.values:
            choices = ", ".join(Review.Decision.values)
            raise GoldError(f"gold decision {decision!r} for answer {index} does not exist; use one of: {choices}")
        text = expected.get("text", "")
        if not isinstance(text, str):
            raise GoldError(f"gold correction text for answer {index} must be a string")
        text = text.strip()
        if decision != Review.Decision.CORRECT:
            if text:
                raise GoldError(f"gold 'text' for answer {index} is only for a 'correct' decision")
            cleaned[str(index)] = {"decision": decision}
            continue
        if not text:
            raise GoldError(f"gold decision 'correct' for answer {index} needs the accepted 'text'")
        if text == target.answers.get(index, "").strip():
            raise GoldError(f"gold correction for answer {index} is the answer itself; expect 'accept' instead")
        cleaned[str(index)] = {"decision": decision, "text": text}
    return {"decisions": cleaned}


def gold_clean(gold, *, target: GoldTarget) -> dict:
    """The gold definition in its stored form, or GoldError saying what is wrong with it."""
    if not isinstance(gold, dict):
        raise GoldError(f"gold must be a JSON object, got {type(gold).__name__}")
    image = target.project.kind == Project.Kind.IMAGE
    allowed = IMAGE_FIELDS if image else TEXT_FIELDS
    for name in gold:
        if name not in allowed:
            kind = "an image" if image else "an LLM answer"
            fields = " and ".join(repr(field) for field in allowed)
            raise GoldError(f"gold field {name!r} does not exist for {kind} project; use {fields}")
    cleaned = _image_gold(gold, target=target) if image else _text_gold(gold, target=target)
    if not cleaned:
        raise GoldError("gold is empty: give at least one rating or a best pick")
    return cleaned


def gold_for_task(gold, *, task: Task, project: Project) -> dict:
    """``gold_clean`` for an existing task, which must belong to ``project`` (the import's or the form's)."""
    if task.project_id != project.pk:
        raise GoldError(f"task {task.pk} belongs to another project; gold can only be set on tasks of {project.slug}")
    return gold_clean(gold, target=GoldTarget.for_task(task, project=project))


def gold_answers_to_review(*, task_ids: list[int]) -> int:
    """Gold answers reach the review queue however sure the model was: an accepted one goes as a random audit."""
    answers = Candidate.objects.filter(
        task_id__in=task_ids, task__gold__isnull=False, review_state=Candidate.ReviewState.ACCEPTED
    )
    named = [
        answer.pk
        for answer in answers.select_related("task")
        if str(answer.index) in (answer.task.gold or {}).get("decisions", {})
    ]
    return Candidate.objects.filter(pk__in=named).update(
        review_state=Candidate.ReviewState.NEEDS_REVIEW, review_reason=AUDIT_REVIEW_REASON
    )


def task_gold_set(*, task: Task, gold: dict | None) -> Task:
    """Make a task gold (its definition checked), change its definition, or (``None``) make it ordinary again."""
    cleaned = None if gold is None else gold_for_task(gold, task=task, project=task.project)
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(gold=cleaned)
        task.gold = cleaned
        gold_answers_to_review(task_ids=[task.pk])
    return task
