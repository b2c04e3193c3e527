"""Per-person figures beside agreement: pace and straight-lining.

- Median seconds per judgement: a person's judgements of every kind (votes, picks, reviews) in the order they
  were first made (``created_at``); the gaps between consecutive ones, leaving out gaps longer than
  ``SESSION_BREAK_SECONDS`` (a break, not work); the median of those gaps. Its items: the gaps counted.
- Identical answers in a row: each kind on its own (votes, picks, reviews), in the order they were made, the
  share of judgements that repeat the person's previous one of that kind exactly (👍 after 👍, the same
  candidate position picked, the same review decision). A careful person judging a mix of images stays near
  the mix's own odds; an always-👍 clicker is at 100 %. Its items: the consecutive pairs counted.
"""

import numpy as np

from quality.figure import Figure
from quality.judgements import Judgements

SESSION_BREAK_SECONDS = 600.0


def _all_kinds(judgements: Judgements) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every judgement as (judge, kind number, answer, time) columns."""
    kinds = list(judgements.kinds().values())
    judge = np.concatenate([kind["judge"] for kind in kinds])
    kind_number = np.concatenate([np.full(len(kind["judge"]), number) for number, kind in enumerate(kinds)])
    answer = np.concatenate([kind["label"] for kind in kinds])
    at = np.concatenate([kind["at"] for kind in kinds])
    return judge, kind_number, answer, at


def _per_judge_share(judge: np.ndarray, hits: np.ndarray, counted: np.ndarray) -> dict[int, Figure]:
    judge_ids, index = np.unique(judge, return_inverse=True)
    hit = np.bincount(index, weights=hits & counted, minlength=len(judge_ids))
    count = np.bincount(index, weights=counted, minlength=len(judge_ids))
    return {
        int(judge_id): Figure(value=float(hit[k] / count[k]) if count[k] else None, items=int(count[k]))
        for k, judge_id in enumerate(judge_ids)
    }


def pace_and_repetition(judgements: Judgements) -> tuple[dict[int, Figure], dict[int, Figure]]:
    """(median seconds per judgement, share of identical answers in a row), each per user id."""
    judge, kind, answer, at = _all_kinds(judgements)
    if len(judge) == 0:
        return {}, {}

    order = np.lexsort((at, kind, judge))
    same_run = (judge[order][1:] == judge[order][:-1]) & (kind[order][1:] == kind[order][:-1])
    repeated = answer[order][1:] == answer[order][:-1]
    identical = _per_judge_share(judge[order][1:], repeated, same_run)

    order = np.lexsort((at, judge))
    sorted_judge, sorted_at = judge[order], at[order]
    gaps = sorted_at[1:] - sorted_at[:-1]
    working = (sorted_judge[1:] == sorted_judge[:-1]) & (gaps <= SESSION_BREAK_SECONDS)
    gap_judge, gap_seconds = sorted_judge[1:][working], gaps[working]
    seconds = {}
    # Medians per person: gaps sorted by person, then split where the person changes.
    gap_order = np.lexsort((gap_seconds, gap_judge))
    gap_judge, gap_seconds = gap_judge[gap_order], gap_seconds[gap_order]
    boundaries = np.flatnonzero(np.diff(gap_judge)) + 1
    for person, person_gaps in zip(np.split(gap_judge, boundaries), np.split(gap_seconds, boundaries), strict=True):
        if len(person_gaps):
            seconds[int(person[0])] = Figure(value=float(np.median(person_gaps)), items=len(person_gaps))
    return seconds, identical
