"""Reads of the quality app: the Quality page's rows from the stored snapshot, and one person's judgements
beside the others' on the same items."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from labeling.models import Membership, Preference, Project, Review, Vote
from quality.models import QualityAction, QualitySnapshot
from quality.report import PERSON_FIGURES

SORT_KEYS = ("username", "judgements", *PERSON_FIGURES, "flags")
DEFAULT_SORT = "-flags"
DRILL_DOWN_ROWS = 50


COLUMN_LABELS = {
    "username": "Person",
    "judgements": "Judgements",
    "gold_accuracy": "Gold accuracy",
    "agreement": "Agreement (👍/👎 vs majority)",
    "pick_agreement": "Pick agreement",
    "review_agreement": "Review agreement",
    "median_seconds": "Median time",
    "identical_share": "Identical in a row",
    "flags": "Flags",
}


def sort_columns(*, sort: str) -> list[dict[str, str]]:
    """The table's sortable headers: where each link leads (a second click reverses), and the current arrow."""
    columns = []
    for key in SORT_KEYS:
        ascending, descending = sort == key, sort == f"-{key}"
        columns.append(
            {
                "key": key,
                "label": COLUMN_LABELS[key],
                "next": f"-{key}" if ascending else key,
                "arrow": " ▲" if ascending else " ▼" if descending else "",
                "aria_sort": "ascending" if ascending else "descending",
            }
        )
    return columns


def snapshot_of(*, project: Project) -> QualitySnapshot | None:
    return QualitySnapshot.objects.filter(project=project).first()


def projects_with_stale_figures() -> list[Project]:
    """Projects judged after their snapshot was computed, or judged and never computed. Each check reads only
    judgements newer than the snapshot (through the ``updated_at`` indexes), not the whole project."""
    stale = []
    for project in Project.objects.select_related("quality_snapshot").order_by("pk"):
        snapshot = getattr(project, "quality_snapshot", None)
        since = {"updated_at__gt": snapshot.computed_at} if snapshot and snapshot.computed_at else {}
        judged = (
            Vote.objects.filter(candidate__task__project=project, **since).exists()
            or Preference.objects.filter(task__project=project, **since).exists()
            or Review.objects.filter(candidate__task__project=project, **since).exists()
        )
        if judged:
            stale.append(project)
    return stale


def sort_key_of(raw: str) -> str:
    """The ``?sort=`` value if it names a column (``-`` for descending), else the default."""
    return raw if raw.lstrip("-") in SORT_KEYS else DEFAULT_SORT


def _sort_value(row: dict[str, Any], key: str) -> Any:
    if key == "username":
        return row["username"].casefold()
    if key == "judgements":
        return row["judgements"]
    if key == "flags":
        return len(row["flags"])
    return row[key]["value"]


def annotator_rows(*, project: Project, snapshot: QualitySnapshot | None, sort: str) -> list[dict[str, Any]]:
    """The snapshot's rows with today's membership state (paused, excluded, role), plus members who joined
    since, sorted by ``sort``; figures that are "not enough overlap" sort last either way."""
    rows = {row["user_id"]: dict(row) for row in (snapshot.figures.get("annotators", []) if snapshot else [])}
    members = Membership.objects.filter(project=project).values_list(
        "user_id", "user__username", "role", "paused_at", "excluded_at"
    )
    for user_id, username, role, paused_at, excluded_at in members:
        row = rows.setdefault(
            user_id,
            {"user_id": user_id, "username": username, "judgements": 0, "flags": []}
            | {name: {"value": None, "items": 0} for name in PERSON_FIGURES},
        )
        row.update(role=role, member=True, paused_at=paused_at, excluded_at=excluded_at)
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    known = [row for row in rows.values() if _sort_value(row, key) is not None]
    unknown = [row for row in rows.values() if _sort_value(row, key) is None]
    known.sort(key=lambda row: _sort_value(row, key), reverse=descending)
    unknown.sort(key=lambda row: row["username"].casefold())
    return known + unknown


def recent_actions(*, project: Project, limit: int = 10) -> QuerySet[QualityAction]:
    return QualityAction.objects.filter(project=project).select_related("member", "actor")[:limit]


@dataclass
class JudgedItem:
    """One item the person judged: their answer, the others' answers on it, and the gold answer if any."""

    prompt: str
    task_id: int
    candidate_index: int | None
    answer: str
    others: dict[str, int] = field(default_factory=dict)
    gold: str = ""


def _pick_text(choice: str, chosen_index: int | None) -> str:
    return f"best: #{chosen_index}" if choice == Preference.Choice.BEST else choice.replace("_", " ")


def judgements_beside_others(*, project: Project, user_id: int) -> dict[str, list[JudgedItem]]:
    """The person's latest votes, picks and reviews in the project (``DRILL_DOWN_ROWS`` of each), each beside
    the other people's answers on the same item and the gold answer."""
    votes = list(
        Vote.objects.filter(user_id=user_id, candidate__task__project=project)
        .exclude(value=Vote.Value.WITHDRAWN)
        .order_by("-updated_at")
        .values_list(
            "candidate_id",
            "value",
            "candidate__index",
            "candidate__task_id",
            "candidate__task__prompt",
            "candidate__task__gold",
        )[:DRILL_DOWN_ROWS]
    )
    others = (
        Vote.objects.filter(candidate_id__in=[vote[0] for vote in votes])
        .exclude(user_id=user_id)
        .exclude(value=Vote.Value.WITHDRAWN)
        .values_list("candidate_id", "value")
        .annotate(n=Count("pk"))
    )
    vote_others: dict[int, dict[str, int]] = {}
    for candidate_id, value, count in others:
        vote_others.setdefault(candidate_id, {})[Vote.Value(value).label] = count
    vote_items = [
        JudgedItem(
            prompt=prompt,
            task_id=task_id,
            candidate_index=index,
            answer=Vote.Value(value).label,
            others=vote_others.get(candidate_id, {}),
            gold={"good": "👍", "bad": "👎"}.get(((gold or {}).get("ratings") or {}).get(str(index)), ""),
        )
        for candidate_id, value, index, task_id, prompt, gold in votes
    ]
    picks = list(
        Preference.objects.filter(user_id=user_id, task__project=project)
        .order_by("-updated_at")
        .values_list("task_id", "choice", "chosen__index", "task__prompt", "task__gold")[:DRILL_DOWN_ROWS]
    )
    pick_others: dict[int, dict[str, int]] = {}
    other_picks = (
        Preference.objects.filter(task_id__in=[pick[0] for pick in picks])
        .exclude(user_id=user_id)
        .values_list("task_id", "choice", "chosen__index")
    )
    for task_id, choice, chosen_index in other_picks:
        answers = pick_others.setdefault(task_id, {})
        answers[_pick_text(choice, chosen_index)] = answers.get(_pick_text(choice, chosen_index), 0) + 1
    pick_items = [
        JudgedItem(
            prompt=prompt,
            task_id=task_id,
            candidate_index=None,
            answer=_pick_text(choice, chosen_index),
            others=pick_others.get(task_id, {}),
            gold=_gold_pick(gold),
        )
        for task_id, choice, chosen_index, prompt, gold in picks
    ]
    reviews = list(
        Review.objects.filter(reviewer_id=user_id, candidate__task__project=project)
        .order_by("-updated_at")
        .values_list(
            "candidate_id",
            "decision",
            "candidate__index",
            "candidate__task_id",
            "candidate__task__prompt",
            "candidate__task__gold",
        )[:DRILL_DOWN_ROWS]
    )
    review_others: dict[int, dict[str, int]] = {}
    other_reviews = (
        Review.objects.filter(candidate_id__in=[review[0] for review in reviews])
        .exclude(reviewer_id=user_id)
        .values_list("candidate_id", "decision")
        .annotate(n=Count("pk"))
    )
    for candidate_id, decision, count in other_reviews:
        review_others.setdefault(candidate_id, {})[decision] = count
    review_items = [
        JudgedItem(
            prompt=prompt,
            task_id=task_id,
            candidate_index=index,
            answer=decision,
            others=review_others.get(candidate_id, {}),
            gold=(((gold or {}).get("decisions") or {}).get(str(index)) or {}).get("decision", ""),
        )
        for candidate_id, decision, index, task_id, prompt, gold in reviews
    ]
    return {"votes": vote_items, "picks": pick_items, "reviews": review_items}


def _gold_pick(gold: dict | None) -> str:
    best = (gold or {}).get("best")
    if best is None:
        return ""
    return _pick_text(Preference.Choice.BEST, best) if isinstance(best, int) else _pick_text(best, None)
