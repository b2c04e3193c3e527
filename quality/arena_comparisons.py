"""What an arena's judgements say about its models, counted in the database.

A pick of the best of N candidates is N−1 comparisons (the best against each other one) and a tie is every pair
at half a win each, as the export's ``preferences`` table writes them (exports/tables/preferences.py); "all bad"
compares nothing. Pairs of two candidates of the same model say nothing about models and are left out. So are
the judgements of annotators excluded from the project (``Membership.excluded_at``).
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from labeling.models import Membership, Preference, Project, Vote


def excluded_members(*, project: Project) -> QuerySet[Membership]:
    """The project's members whose judgements are left out of its figures."""
    return Membership.objects.filter(project=project, excluded_at__isnull=False)


def counted_judges_q(*, project: Project, user_field: str = "user") -> Exists:
    """For judgement rows (votes, preferences, reviews): made by someone not excluded from the project."""
    return ~Exists(excluded_members(project=project).filter(user=OuterRef(user_field)))


@dataclass(frozen=True)
class PairCounts:
    """Comparisons of two models: ``first`` and ``second`` in name order."""

    first: str
    second: str
    first_wins: int
    second_wins: int
    ties: int

    @property
    def comparisons(self) -> int:
        return self.first_wins + self.second_wins + self.ties


# One row per pair of a judged task's candidates, a before b on screen, from different models: whether the
# judgement picked a, picked b, or called it a tie. Other pairs of a pick-best judgement do not involve the
# best one and are not comparisons.
_PAIRS_SQL = """
SELECT a.model_name, b.model_name,
       SUM(CASE WHEN p.chosen_id = a.id THEN 1 ELSE 0 END),
       SUM(CASE WHEN p.chosen_id = b.id THEN 1 ELSE 0 END),
       SUM(CASE WHEN p.choice = %(tie)s THEN 1 ELSE 0 END)
FROM labeling_preference p
JOIN labeling_task t ON t.id = p.task_id
JOIN labeling_candidate a ON a.task_id = p.task_id
JOIN labeling_candidate b ON b.task_id = p.task_id AND b."index" > a."index"
WHERE t.project_id = %(project)s
  AND a.model_name <> b.model_name
  AND (p.choice = %(tie)s OR (p.choice = %(best)s AND (p.chosen_id = a.id OR p.chosen_id = b.id)))
  AND NOT EXISTS (
      SELECT 1 FROM labeling_membership m
      WHERE m.project_id = t.project_id AND m.user_id = p.user_id AND m.excluded_at IS NOT NULL
  )
GROUP BY a.model_name, b.model_name
"""


def model_pair_counts(*, project: Project) -> list[PairCounts]:
    """Wins and ties of every pair of models that met in the project's judgements, one entry per pair."""
    params = {"project": project.pk, "tie": Preference.Choice.TIE.value, "best": Preference.Choice.BEST.value}
    with connection.cursor() as cursor:
        cursor.execute(_PAIRS_SQL, params)
        rows = cursor.fetchall()
    merged: dict[tuple[str, str], list[int]] = {}
    for model_a, model_b, a_wins, b_wins, ties in rows:
        if model_a > model_b:
            model_a, model_b, a_wins, b_wins = model_b, model_a, b_wins, a_wins
        counts = merged.setdefault((model_a, model_b), [0, 0, 0])
        counts[0] += int(a_wins)
        counts[1] += int(b_wins)
        counts[2] += int(ties)
    return [PairCounts(first, second, *counts) for (first, second), counts in sorted(merged.items())]


def thumbs_by_model(*, project: Project) -> dict[str, tuple[int, int]]:
    """(👍, 👎) cast on each model's candidates in the project, by counted annotators."""
    rows = (
        Vote.objects.filter(candidate__task__project=project)
        .exclude(value=Vote.Value.WITHDRAWN)
        .filter(counted_judges_q(project=project))
        .values("candidate__model_name")
        .annotate(up=Count("pk", filter=Q(value=Vote.Value.UP)), down=Count("pk", filter=Q(value=Vote.Value.DOWN)))
        .order_by()
    )
    return {row["candidate__model_name"]: (row["up"], row["down"]) for row in rows}
