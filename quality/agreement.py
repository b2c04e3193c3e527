"""Agreement between people who judged the same items, project-wide and per person.

- ``nominal_alpha``: Krippendorff's alpha (nominal) from the ``krippendorff`` package, fed with each item's
  count of each answer (its ``value_counts`` form, which stays small at a million judgements). Items judged
  fewer than twice hold no pairable values and are left out; the figure's items are those judged twice or more.
- ``majority_agreement``: per person, the share of their 👍/👎 that match the majority of the *others* on the
  same item (their own vote left out; items where the others are split or absent do not count).
- ``pairwise_agreement``: the share of pairs of people on the same item who gave the same answer. For best
  picks a tie against a best pick counts half (a tie says "no difference", a pick says "this one"); every
  other difference counts zero. Per person: the same share over the pairs they are in.

Excluded people's judgements count for nobody else's figure and not for the project's; their own figures are
still measured against the others.
"""

import krippendorff
import numpy as np

from quality.figure import NO_ITEMS, Figure
from quality.judgements import PICK_TIE


def _dense(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's position among the distinct values, and how many there are."""
    distinct, index = np.unique(values, return_inverse=True)
    return index, len(distinct)


def nominal_alpha(*, items: np.ndarray, values: np.ndarray) -> Figure:
    """Krippendorff's alpha (nominal) of the (item, value) judgements; value None when every answer is the
    same (alpha is undefined without variation)."""
    if len(items) == 0:
        return NO_ITEMS
    item_index, item_count = _dense(items)
    value_index, value_count = _dense(values)
    counts = np.bincount(item_index * value_count + value_index, minlength=item_count * value_count)
    counts = counts.reshape(item_count, value_count)
    counts = counts[counts.sum(axis=1) >= 2]
    counts = counts[:, counts.sum(axis=0) > 0]
    if len(counts) == 0:
        return NO_ITEMS
    if counts.shape[1] < 2:
        return Figure(value=None, items=len(counts))
    value = krippendorff.alpha(
        value_counts=counts, value_domain=list(range(counts.shape[1])), level_of_measurement="nominal"
    )
    return Figure(value=float(value), items=len(counts))


def _per_judge(judge: np.ndarray, numerator: np.ndarray, denominator: np.ndarray, items: np.ndarray) -> dict:
    judge_ids, judge_index = np.unique(judge, return_inverse=True)
    num = np.bincount(judge_index, weights=numerator, minlength=len(judge_ids))
    den = np.bincount(judge_index, weights=denominator, minlength=len(judge_ids))
    n_items = np.bincount(judge_index, weights=items, minlength=len(judge_ids))
    return {
        int(judge_id): Figure(value=float(num[k] / den[k]) if den[k] else None, items=int(n_items[k]))
        for k, judge_id in enumerate(judge_ids)
    }


def _counted(judge: np.ndarray, excluded: frozenset[int]) -> np.ndarray:
    return ~np.isin(judge, np.fromiter(excluded, dtype=np.float64, count=len(excluded)))


def majority_agreement(*, judge: np.ndarray, item: np.ndarray, label: np.ndarray, excluded: frozenset[int]) -> dict:
    """Per person (user id → Figure): share of their 👍/👎 matching the others' majority on the item."""
    if len(judge) == 0:
        return {}
    counted = _counted(judge, excluded)
    item_index, item_count = _dense(item)
    up_here, down_here = (label > 0) & counted, (label < 0) & counted
    up = np.bincount(item_index, weights=up_here, minlength=item_count)[item_index] - up_here
    down = np.bincount(item_index, weights=down_here, minlength=item_count)[item_index] - down_here
    decided = up != down
    agrees = decided & (np.sign(up - down) == np.sign(label))
    return _per_judge(judge, agrees.astype(float), decided.astype(float), decided.astype(float))


def pairwise_agreement(
    *, judge: np.ndarray, item: np.ndarray, label: np.ndarray, excluded: frozenset[int], tie_half: bool = False
) -> tuple[Figure, dict]:
    """(project Figure over items judged twice or more, per person {user id → Figure})."""
    if len(judge) == 0:
        return NO_ITEMS, {}
    counted = _counted(judge, excluded).astype(float)
    item_index, item_count = _dense(item)
    label_index, label_count = _dense(label)
    per_item = np.bincount(item_index, weights=counted, minlength=item_count)
    pair_key = item_index * label_count + label_index
    per_label = np.bincount(pair_key, weights=counted, minlength=item_count * label_count)
    others = per_item[item_index] - counted
    same = per_label[pair_key] - counted
    credit = same
    if tie_half:
        is_tie, is_best = label == PICK_TIE, label >= 0
        ties = np.bincount(item_index, weights=counted * is_tie, minlength=item_count)
        bests = np.bincount(item_index, weights=counted * is_best, minlength=item_count)
        # A tie against each of the others' best picks, a best pick against each of the others' ties: half each.
        credit = same + 0.5 * (is_tie * bests[item_index] + is_best * ties[item_index])
    total_pairs = float((counted * others).sum())
    project = Figure(
        value=float((counted * credit).sum() / total_pairs) if total_pairs else None,
        items=int((per_item >= 2).sum()),
    )
    with_others = (others > 0).astype(float)
    return project, _per_judge(judge, credit, others, with_others)
