"""The audit trail of a task as a manager reads it: who changed which vote, pick or review, when, from what to what.

The rows come from django-simple-history's tables (every write path records one: the ORM's signals, the admin,
and the hand-written vote statements in ``labeling/votes.py``). Old and new values are read from consecutive rows
of the same object.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Model, QuerySet

from labeling.models import Candidate, Preference, Review, Task, Vote

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str  # the person who made the change, or "" when it was made outside anyone's request
    what: str  # whose vote, pick or review, of what
    action: str  # created | changed | deleted
    changes: list[FieldChange]


def _name(user) -> str:
    return user.get_username() if user is not None else "a deleted user"


def _shown(record: Model, field: str, value, candidate_numbers: dict[int, int]) -> str:
    if value is None or value == "":
        return "—"
    if field == "chosen":
        return f"candidate #{candidate_numbers.get(value, '?')}"
    choices = dict(record._meta.get_field(field).flatchoices)
    return str(choices.get(value, value))


def _entries(
    records: Iterable[Model],
    *,
    fields: list[str],
    what: Callable[[Model], str],
    candidate_numbers: dict[int, int],
) -> list[HistoryEntry]:
    """One entry per history row, its changes measured against the previous row of the same object."""
    entries = []
    previous: dict[int, Model] = {}
    for record in records:
        before = previous.get(record.id)
        attnames = {field: record._meta.get_field(field).attname for field in fields}
        changes = []
        for field, attname in attnames.items():
            old = getattr(before, attname) if before is not None else None
            new = getattr(record, attname)
            if before is None or old != new:
                changes.append(
                    FieldChange(
                        field=record._meta.get_field(field).verbose_name,
                        old=_shown(record, field, old, candidate_numbers),
                        new=_shown(record, field, new, candidate_numbers),
                    )
                )
        previous[record.id] = record
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=_name(record.history_user) if record.history_user_id else "",
                what=what(record),
                action=HISTORY_TYPES.get(record.history_type, record.history_type),
                changes=changes,
            )
        )
    return entries


def _in_order(history: QuerySet) -> QuerySet:
    return history.select_related("history_user").order_by("history_date", "history_id")


def task_history(*, task: Task) -> list[HistoryEntry]:
    """Every recorded change to the task's votes, picks and reviews, newest first."""
    candidate_numbers = dict(Candidate.objects.filter(task=task).values_list("pk", "index"))
    votes = _entries(
        _in_order(Vote.history.filter(candidate_id__in=candidate_numbers)).select_related("user"),
        fields=["value"],
        what=lambda record: f"{_name(record.user)}'s vote on candidate #{candidate_numbers[record.candidate_id]}",
        candidate_numbers=candidate_numbers,
    )
    picks = _entries(
        _in_order(Preference.history.filter(task_id=task.pk)).select_related("user"),
        fields=["choice", "chosen"],
        what=lambda record: f"{_name(record.user)}'s pick",
        candidate_numbers=candidate_numbers,
    )
    reviews = _entries(
        _in_order(Review.history.filter(candidate_id__in=candidate_numbers)).select_related("reviewer"),
        fields=["decision", "corrected_text", "reason"],
        what=lambda record: f"{_name(record.reviewer)}'s review of answer #{candidate_numbers[record.candidate_id]}",
        candidate_numbers=candidate_numbers,
    )
    return sorted([*votes, *picks, *reviews], key=lambda entry: entry.when, reverse=True)
