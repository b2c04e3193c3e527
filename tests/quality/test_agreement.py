"""Agreement figures with known answers: Krippendorff's alpha against the library's documented values, and
the pairwise and majority agreement on small hand-worked cases."""

import numpy as np
import pytest

from labeling.models import Membership, Preference, Review, Vote
from quality.agreement import nominal_alpha
from quality.report import quality_report_compute
from tests.factories import make_plain_task, member

# The reliability data in the docstring of krippendorff.alpha (krippendorff 0.9.0), from Krippendorff's
# "Computing Krippendorff's Alpha-Reliability": 3 coders (rows) × 15 units (columns), None for missing.
DOCUMENTED_MATRIX = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
]
DOCUMENTED_NOMINAL_ALPHA = 0.691358


def _pairs(matrix):
    cells = [(unit, value) for row in matrix for unit, value in enumerate(row) if value is not None]
    return np.array([unit for unit, _ in cells], dtype=float), np.array([value for _, value in cells], dtype=float)


def test_alpha_on_the_documented_matrix_equals_the_value_the_library_documents():
    items, values = _pairs(DOCUMENTED_MATRIX)
    alpha = nominal_alpha(items=items, values=values)
    assert round(alpha.value, 6) == DOCUMENTED_NOMINAL_ALPHA
    # Units 1 and 13 hold no value and unit 0 a single one: the other 12 hold pairable values.
    assert alpha.items == 12


def test_alpha_without_any_variation_is_undefined_not_one():
    alpha = nominal_alpha(items=np.array([1.0, 1, 2, 2]), values=np.array([1.0, 1, 1, 1]))
    assert alpha.value is None and alpha.items == 2


def _vote(user, task, index, value):
    return Vote.objects.create(user=user, candidate=task.candidates.get(index=index), value=value)


def test_the_project_alpha_rests_on_items_judged_twice_and_leaves_withdrawn_votes_out(project):
    project.quality_min_items = 1
    project.save()
    ann, bob = member(project, "ann"), member(project, "bob")
    task = make_plain_task(project, candidates=3)
    # Candidate 0: both 👍; candidate 1: 👍 / 👎; candidate 2: one 👍 and a withdrawn vote.
    for user, values in ((ann, (1, 1, 1)), (bob, (1, -1, 0))):
        for index, value in enumerate(values):
            _vote(user, task, index, value)
    report = quality_report_compute(project=project)
    matrix = [[1, 1, 1], [1, -1, None]]
    items, values = _pairs(matrix)
    expected = nominal_alpha(items=items, values=values)
    assert report["figures"]["vote_alpha"] == {"value": pytest.approx(expected.value), "items": 2}
    assert report["judgements"]["votes"] == 5


def test_a_figure_on_too_few_items_says_not_enough_overlap(project, client, manager):
    ann, bob = member(project, "ann"), member(project, "bob")
    task = make_plain_task(project, candidates=2)
    for user in (ann, bob):
        _vote(user, task, 0, 1)
        _vote(user, task, 1, -1)
    report = quality_report_compute(project=project)
    assert project.quality_min_items == 5
    assert report["figures"]["vote_alpha"] == {"value": None, "items": 2}


def test_best_pick_agreement_counts_a_tie_against_a_pick_as_half(project):
    project.quality_min_items = 1
    project.save()
    ann, bob, cy = (member(project, name) for name in ("ann", "bob", "cy"))
    task = make_plain_task(project, candidates=3)
    first = task.candidates.get(index=0)
    Preference.objects.create(user=ann, task=task, choice="best", chosen=first)
    Preference.objects.create(user=bob, task=task, choice="best", chosen=first)
    Preference.objects.create(user=cy, task=task, choice="tie")
    # Pairs: ann–bob agree (1), ann–cy and bob–cy a tie against a pick (½ each): 2 of 3.
    report = quality_report_compute(project=project)
    assert report["figures"]["pick_agreement"] == {"value": pytest.approx(2 / 3), "items": 1}
    people = {row["username"]: row["pick_agreement"] for row in report["annotators"]}
    assert people["ann"] == {"value": pytest.approx(0.75), "items": 1}
    assert people["cy"] == {"value": pytest.approx(0.5), "items": 1}


def test_all_bad_against_a_pick_is_a_disagreement(project):
    project.quality_min_items = 1
    project.save()
    ann, bob = member(project, "ann"), member(project, "bob")
    task = make_plain_task(project, candidates=2)
    Preference.objects.create(user=ann, task=task, choice="best", chosen=task.candidates.get(index=1))
    Preference.objects.create(user=bob, task=task, choice="all_bad")
    assert quality_report_compute(project=project)["figures"]["pick_agreement"] == {"value": 0.0, "items": 1}


def test_reviewers_agreement_is_the_share_of_reviewer_pairs_deciding_alike(text_project):
    text_project.quality_min_items = 1
    text_project.save()
    reviewers = [member(text_project, name, role=Membership.Role.REVIEWER) for name in ("rae", "rob", "roy")]
    agreed, split = make_plain_task(text_project, candidates=1), make_plain_task(text_project, candidates=1)
    for reviewer in reviewers:
        Review.objects.create(
            reviewer=reviewer, candidate=agreed.candidates.get(), decision="accept", original_text="a"
        )
    for reviewer, decision in zip(reviewers[:2], ("accept", "reject"), strict=True):
        Review.objects.create(reviewer=reviewer, candidate=split.candidates.get(), decision=decision, original_text="a")
    # 3 agreeing pairs on the first answer, 1 disagreeing pair on the second.
    figure = quality_report_compute(project=text_project)["figures"]["review_agreement"]
    assert figure == {"value": pytest.approx(3 / 4), "items": 2}


def test_agreement_with_the_majority_leaves_the_persons_own_vote_out(project):
    project.quality_min_items = 1
    project.save()
    ann, bob, cy, dee = (member(project, name) for name in ("ann", "bob", "cy", "dee"))
    task = make_plain_task(project, candidates=2)
    # Candidate 0: ann, bob, cy 👍, dee 👎. Candidate 1: ann 👍, bob 👎, cy 👍: the others of ann are split there.
    for user, value in ((ann, 1), (bob, 1), (cy, 1), (dee, -1)):
        _vote(user, task, 0, value)
    for user, value in ((ann, 1), (bob, -1), (cy, 1)):
        _vote(user, task, 1, value)
    people = {row["username"]: row["agreement"] for row in quality_report_compute(project=project)["annotators"]}
    assert people["ann"] == {"value": 1.0, "items": 1}
    assert people["bob"] == {"value": 0.5, "items": 2}
    assert people["dee"] == {"value": 0.0, "items": 1}


def test_an_excluded_persons_votes_count_for_nobody_elses_figures(project):
    project.quality_min_items = 1
    project.save()
    ann, bob, eve = (member(project, name) for name in ("ann", "bob", "eve"))
    task = make_plain_task(project, candidates=1)
    _vote(ann, task, 0, 1)
    _vote(bob, task, 0, -1)
    _vote(eve, task, 0, -1)
    Membership.objects.filter(user=eve).update(excluded_at="2026-01-01T00:00:00Z")
    report = quality_report_compute(project=project)
    people = {row["username"]: row for row in report["annotators"]}
    # Without eve, bob has no majority beside him to agree with, and ann's only other is bob.
    assert people["ann"]["agreement"] == {"value": 0.0, "items": 1}
    assert people["eve"]["agreement"] == {"value": None, "items": 0}
    assert people["eve"]["excluded"] is True
    assert report["figures"]["vote_alpha"]["items"] == 1
