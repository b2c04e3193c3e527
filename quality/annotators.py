"""Per-person figures beside agreement: pace and straight-lining, and the flags a project's thresholds raise.

- Median seconds per judgement: a person's judgements of every kind (votes, picks, reviews) in the order they
  were first made (``created_at``); the gaps between consecutive ones, leaving out gaps longer than
  ``SESSION_BREAK_SECONDS`` (a break, not work); the median of those gaps. Its items: the gaps counted.
- Identical answers in a row: in the same order, the share of judgements that repeat the previous one exactly
  (same kind and same answer: 👍 after 👍, the same candidate picked, the same review decision). A careful
  person judging a mix of images stays near the mix's own odds; an always-👍 clicker is at 100 %. Its items:
  the consecutive pairs.
"""

import numpy as np

from quality.figure import Figure
from quality.judgements import Judgements

SESSION_BREAK_SECONDS = 600.0


def _sequence(judgements: Judgements) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every judgement as (judge, answer code, time), sorted by judge then time; codes differ across kinds."""
    judges, answers, times = [], [], []
    for kind_number, kind in enumerate(judgements.kinds().values()):
        judges.append(kind["judge"])
        # Labels are small (candidate indexes, -2…2): one block of 1000 codes per kind keeps kinds apart.
        answers.append(kind["label"] + 1000 * kind_number)
        times.append(kind["at"])
    judge, answer, at = (np.concatenate(parts) for parts in (judges, answers, times))
    order = np.lexsort((at, judge))
    return judge[order], answer[order], at[order]


def pace_and_repetition(judgements: Judgements) -> tuple[dict[int, Figure], dict[int, Figure]]:
    """(median seconds per judgement, share of identical answers in a row), each per user id."""
    judge, answer, at = _sequence(judgements)
    if len(judge) == 0:
        return {}, {}
    same_judge = judge[1:] == judge[:-1]
    gaps = at[1:] - at[:-1]
    repeated = answer[1:] == answer[:-1]
    starts = np.flatnonzero(np.r_[True, ~same_judge])
    ends = np.r_[starts[1:], len(judge)]
    seconds, identical = {}, {}
    for start, end in zip(starts, ends, strict=True):
        judge_id = int(judge[start])
        # Pairs (k-1, k) for k in start+1 … end-1 are gaps[start … end-2].
        own_gaps = gaps[start : end - 1]
        working = own_gaps[own_gaps <= SESSION_BREAK_SECONDS]
        seconds[judge_id] = Figure(value=float(np.median(working)) if len(working) else None, items=len(working))
        own_repeats = repeated[start : end - 1]
        identical[judge_id] = Figure(
            value=float(own_repeats.mean()) if len(own_repeats) else None, items=len(own_repeats)
        )
    return seconds, identical
