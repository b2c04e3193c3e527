"""A project's quality report: the project's figures and one row per person, as JSON-ready data.

Computed fresh by ``quality_report`` (the command), by the background task that keeps the Quality page's
snapshot, and by the export's ``annotators`` table. Every figure is ``{"value": …, "items": n}``; value is None
("not enough overlap") when fewer than the project's ``quality_min_items`` items stand behind it.
"""

import time
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.utils import timezone

from labeling.models import Membership, Project
from quality.agreement import majority_agreement, nominal_alpha, pairwise_agreement
from quality.annotators import pace_and_repetition
from quality.figure import NO_ITEMS, Figure
from quality.gold import gold_scores
from quality.judgements import judgements_of

# The annotator table's columns that hold a figure, in the order the page and the command show them.
PERSON_FIGURES = (
    "gold_accuracy",
    "agreement",
    "pick_agreement",
    "review_agreement",
    "median_seconds",
    "identical_share",
)


def _flags(figures: dict[str, Figure], project: Project) -> list[str]:
    """Why a person's figures need a look, one reason each; figures on too few items raise nothing."""
    enough = {name: figure.shown(project.quality_min_items) for name, figure in figures.items()}
    flags = []
    if enough["gold_accuracy"] is not None and enough["gold_accuracy"] < project.quality_min_gold_accuracy:
        flags.append(
            f"gold accuracy {enough['gold_accuracy']:.0%} is below {project.quality_min_gold_accuracy:.0%} "
            f"({figures['gold_accuracy'].items} gold judgements)"
        )
    for name, what in (("agreement", "agreement with the others' majority"), ("review_agreement", "review agreement")):
        if enough[name] is not None and enough[name] < project.quality_min_agreement:
            flags.append(
                f"{what} {enough[name]:.0%} is below {project.quality_min_agreement:.0%} ({figures[name].items} items)"
            )
    if enough["identical_share"] is not None and enough["identical_share"] > project.quality_max_identical_share:
        flags.append(
            f"{enough['identical_share']:.0%} of answers repeat the one before "
            f"(more than {project.quality_max_identical_share:.0%})"
        )
    if enough["median_seconds"] is not None and enough["median_seconds"] < project.quality_min_seconds:
        flags.append(
            f"median {enough['median_seconds']:.1f} s per judgement is faster than {project.quality_min_seconds:g} s"
        )
    return flags


def quality_report_compute(*, project: Project) -> dict[str, Any]:
    started = time.monotonic()
    judgements = judgements_of(project=project)
    excluded = judgements.excluded_users
    votes, picks, reviews = judgements.votes, judgements.picks, judgements.reviews
    counted = ~np.isin(votes["judge"], np.fromiter(excluded, dtype=np.float64, count=len(excluded)))
    vote_alpha = nominal_alpha(items=votes["item"][counted], values=votes["label"][counted])
    vote_agreement = majority_agreement(
        judge=votes["judge"], item=votes["item"], label=votes["label"], excluded=excluded
    )
    pick_project, pick_people = pairwise_agreement(**_columns(picks), excluded=excluded, tie_half=True)
    review_project, review_people = pairwise_agreement(**_columns(reviews), excluded=excluded)
    seconds, identical = pace_and_repetition(judgements)
    gold = gold_scores(project=project)

    all_judges = np.concatenate([votes["judge"], picks["judge"], reviews["judge"]])
    judge_ids, judge_counts = np.unique(all_judges, return_counts=True)
    judgement_counts = dict(zip(judge_ids.astype(int).tolist(), judge_counts.tolist(), strict=True))
    memberships = {
        user_id: (role, paused_at, excluded_at)
        for user_id, role, paused_at, excluded_at in Membership.objects.filter(project=project).values_list(
            "user_id", "role", "paused_at", "excluded_at"
        )
    }
    people = get_user_model().objects.filter(pk__in={*judgement_counts, *memberships}).order_by("username")
    min_items = project.quality_min_items
    rows = []
    for user_id, username, public_id in people.values_list("pk", "username", "public_id"):
        score = gold.get(user_id)
        figures = {
            "gold_accuracy": Figure(value=score.accuracy, items=score.total) if score else NO_ITEMS,
            "agreement": vote_agreement.get(user_id, NO_ITEMS),
            "pick_agreement": pick_people.get(user_id, NO_ITEMS),
            "review_agreement": review_people.get(user_id, NO_ITEMS),
            "median_seconds": seconds.get(user_id, NO_ITEMS),
            "identical_share": identical.get(user_id, NO_ITEMS),
        }
        role, paused_at, excluded_at = memberships.get(user_id, ("", None, None))
        rows.append(
            {
                "user_id": user_id,
                "username": username,
                "annotator": str(public_id),
                "role": role,
                "judgements": judgement_counts.get(user_id, 0),
                **{name: figure.as_json(min_items) for name, figure in figures.items()},
                "flags": _flags(figures, project),
                "paused": paused_at is not None,
                "excluded": excluded_at is not None,
            }
        )
    counted_gold = [score for user_id, score in gold.items() if user_id not in excluded]
    gold_total = sum(score.total for score in counted_gold)
    project_gold = Figure(
        value=sum(score.correct for score in counted_gold) / gold_total if gold_total else None, items=gold_total
    )
    return {
        "project": project.slug,
        "computed_at": timezone.now().isoformat(),
        "seconds": round(time.monotonic() - started, 3),
        "min_items": min_items,
        "judgements": {"votes": len(votes["judge"]), "picks": len(picks["judge"]), "reviews": len(reviews["judge"])},
        "figures": {
            "vote_alpha": vote_alpha.as_json(min_items),
            "pick_agreement": pick_project.as_json(min_items),
            "review_agreement": review_project.as_json(min_items),
            "gold_accuracy": project_gold.as_json(min_items),
        },
        "thresholds": {
            "min_gold_accuracy": project.quality_min_gold_accuracy,
            "min_agreement": project.quality_min_agreement,
            "max_identical_share": project.quality_max_identical_share,
            "min_seconds": project.quality_min_seconds,
        },
        "annotators": rows,
    }


def _columns(kind: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"judge": kind["judge"], "item": kind["item"], "label": kind["label"]}
