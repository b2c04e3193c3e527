"""An arena's leaderboard: Bradley–Terry ratings of its models from the judgements, with bootstrap intervals.

The Bradley–Terry model says model i beats model j with probability 1 / (1 + exp(s_j − s_i)); its maximum
likelihood strengths are fitted by choix (iterative Luce spectral ranking) on the matrix of wins, where a tie
is half a win for each side. Strengths are centred on 0 and shown on the Elo scale Chatbot Arena uses
(1000 + 400·log10(e)·s: 400 points more means 10:1 odds). The 95 % interval comes from refitting on
comparisons drawn with replacement from the observed ones (a multinomial over the counted outcomes, which is
the same draw without listing a million comparisons), with a fixed seed, so the same judgements always give
the same figures.
"""

import math
from typing import Any

import choix
import numpy as np
from django.conf import settings

from labeling.models import Project
from quality.arena_comparisons import PairCounts, excluded_members, model_pair_counts, thumbs_by_model

RATING_BASE = 1000.0
RATING_SCALE = 400.0 / math.log(10)
# A light pull of every strength towards the others: keeps a model that won (or lost) every comparison finite.
REGULARIZATION = 0.01
BOOTSTRAP_SEED = 20261201
INTERVAL = (2.5, 97.5)


def rating_of(strength: float) -> float:
    """A centred Bradley–Terry strength on the Elo scale."""
    return RATING_BASE + RATING_SCALE * strength


def _fit(wins: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Centred Bradley–Terry strengths from ``wins[i, j]``: how often i beat j (ties as half); ``start`` is where
    the iterations begin (a resample's fit starts from the observed one, which halves its iterations)."""
    strengths = choix.ilsr_pairwise_dense(wins, alpha=REGULARIZATION, initial_params=start)
    return strengths - strengths.mean()


def _win_matrix(pairs: list[PairCounts], index: dict[str, int], outcome_counts: np.ndarray) -> np.ndarray:
    """The wins matrix from per-pair outcome counts laid out as [first wins, second wins, ties] per pair."""
    wins = np.zeros((len(index), len(index)))
    for number, pair in enumerate(pairs):
        first, second = index[pair.first], index[pair.second]
        first_wins, second_wins, ties = outcome_counts[3 * number : 3 * number + 3]
        wins[first, second] += first_wins + ties / 2
        wins[second, first] += second_wins + ties / 2
    return wins


def _bootstrap(
    pairs: list[PairCounts], index: dict[str, int], rounds: int, rng: np.random.Generator, start: np.ndarray
) -> np.ndarray:
    """Strengths refitted on ``rounds`` resamples of the comparisons: one row per round."""
    observed = np.array([[p.first_wins, p.second_wins, p.ties] for p in pairs], dtype=float).ravel()
    total = int(observed.sum())
    draws = rng.multinomial(total, observed / total, size=rounds)
    return np.array([_fit(_win_matrix(pairs, index, draw), start) for draw in draws])


def leaderboard_from_counts(
    *,
    pairs: list[PairCounts],
    thumbs: dict[str, tuple[int, int]],
    arena_models: list[str],
    rounds: int,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """The leaderboard as JSON-ready data: one entry per model, best rated first, and the win-rate matrix."""
    compared = sorted({p.first for p in pairs} | {p.second for p in pairs})
    listed = list(dict.fromkeys([*arena_models, *compared, *sorted(thumbs)]))
    index = {model: number for number, model in enumerate(compared)}
    comparisons = sum(p.comparisons for p in pairs)
    entries = {model: _empty_entry(model, thumbs.get(model, (0, 0))) for model in listed}
    for pair in pairs:
        for model, won, lost in (
            (pair.first, pair.first_wins, pair.second_wins),
            (pair.second, pair.second_wins, pair.first_wins),
        ):
            entry = entries[model]
            entry["wins"] += won
            entry["losses"] += lost
            entry["ties"] += pair.ties
            entry["comparisons"] += pair.comparisons
    if len(compared) >= 2:
        observed = np.array([[p.first_wins, p.second_wins, p.ties] for p in pairs], dtype=float).ravel()
        strengths = _fit(_win_matrix(pairs, index, observed))
        resampled = _bootstrap(pairs, index, rounds, np.random.default_rng(seed), strengths)
        lower, upper = np.percentile(resampled, INTERVAL, axis=0)
        for model, number in index.items():
            entries[model] |= {
                "strength": float(strengths[number]),
                "strength_lower": float(lower[number]),
                "strength_upper": float(upper[number]),
                "rating": round(rating_of(strengths[number]), 1),
                "rating_lower": round(rating_of(lower[number]), 1),
                "rating_upper": round(rating_of(upper[number]), 1),
            }
    ranked = sorted(entries.values(), key=lambda e: (e["rating"] is None, -(e["rating"] or 0), e["model"]))
    for rank, entry in enumerate(ranked, start=1):
        entry["rank"] = rank if entry["rating"] is not None else None
    return {
        "models": ranked,
        "comparisons": comparisons,
        "matrix": _win_rates(pairs, [entry["model"] for entry in ranked if entry["model"] in index]),
        "rounds": rounds if len(compared) >= 2 else 0,
    }


def _empty_entry(model: str, thumbs: tuple[int, int]) -> dict[str, Any]:
    up, down = thumbs
    return {
        "model": model,
        "rank": None,
        "rating": None,
        "rating_lower": None,
        "rating_upper": None,
        "strength": None,
        "strength_lower": None,
        "strength_upper": None,
        "comparisons": 0,
        "wins": 0,
        "losses": 0,
        "ties": 0,
        "thumbs_up": up,
        "thumbs_down": down,
        "thumbs_up_share": round(up / (up + down), 4) if up + down else None,
    }


def _win_rates(pairs: list[PairCounts], models: list[str]) -> dict[str, Any]:
    """Row model's share of wins (ties as half) against the column model, and how many comparisons that is;
    None where two models never met."""
    by_pair = {(p.first, p.second): p for p in pairs}
    rates, counts = [], []
    for row in models:
        rate_row, count_row = [], []
        for column in models:
            pair = by_pair.get((row, column)) or by_pair.get((column, row))
            if row == column or pair is None or not pair.comparisons:
                rate_row.append(None)
                count_row.append(0)
                continue
            won = pair.first_wins if pair.first == row else pair.second_wins
            rate_row.append(round((won + pair.ties / 2) / pair.comparisons, 4))
            count_row.append(pair.comparisons)
        rates.append(rate_row)
        counts.append(count_row)
    return {"models": models, "win_rates": rates, "comparisons": counts}


def leaderboard_compute(*, project: Project, rounds: int | None = None) -> dict[str, Any]:
    """The project's leaderboard from its judgements now (the figures worker calls this; pages read its result)."""
    data = leaderboard_from_counts(
        pairs=model_pair_counts(project=project),
        thumbs=thumbs_by_model(project=project),
        arena_models=project.arena_model_list,
        rounds=rounds or settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
    )
    data["excluded_annotators"] = excluded_members(project=project).count()
    return data
