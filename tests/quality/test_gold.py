"""Gold accuracy counts exactly: which judgements count, and which match."""

from labeling.models import Membership, Preference, Review, Vote
from quality.gold import gold_scores, normalised_text
from quality.report import quality_report_compute
from tests.factories import make_plain_task, member


def test_votes_on_rated_candidates_count_and_withdrawn_or_unrated_ones_do_not(project):
    ann = member(project, "ann")
    gold = make_plain_task(project, candidates=4, gold={"ratings": {"0": "good", "1": "bad", "2": "good"}})
    ordinary = make_plain_task(project, candidates=1)
    Vote.objects.create(user=ann, candidate=gold.candidates.get(index=0), value=1)  # right
    Vote.objects.create(user=ann, candidate=gold.candidates.get(index=1), value=1)  # wrong
    Vote.objects.create(user=ann, candidate=gold.candidates.get(index=2), value=0)  # withdrawn: not counted
    Vote.objects.create(user=ann, candidate=gold.candidates.get(index=3), value=-1)  # not rated: not counted
    Vote.objects.create(user=ann, candidate=ordinary.candidates.get(), value=-1)  # not gold: not counted
    score = gold_scores(project=project)[ann.pk]
    assert (score.correct, score.total) == (1, 2)


def test_best_picks_match_the_same_candidate_or_the_same_tie_or_all_bad(project):
    ann, bob = member(project, "ann"), member(project, "bob")
    pick_one = make_plain_task(project, candidates=3, gold={"best": 1})
    tie = make_plain_task(project, candidates=3, gold={"best": "tie"})
    no_best = make_plain_task(project, candidates=3, gold={"ratings": {"0": "bad"}})
    Preference.objects.create(user=ann, task=pick_one, choice="best", chosen=pick_one.candidates.get(index=1))
    Preference.objects.create(user=bob, task=pick_one, choice="best", chosen=pick_one.candidates.get(index=2))
    Preference.objects.create(user=ann, task=tie, choice="tie")
    Preference.objects.create(user=bob, task=tie, choice="all_bad")
    Preference.objects.create(user=ann, task=no_best, choice="tie")  # the gold names no best: not counted
    scores = gold_scores(project=project)
    assert (scores[ann.pk].correct, scores[ann.pk].total) == (2, 2)
    assert (scores[bob.pk].correct, scores[bob.pk].total) == (0, 2)


def test_a_correction_matches_when_its_text_matches_up_to_whitespace(text_project):
    expected = {"decisions": {"0": {"decision": "correct", "text": "Canberra is the capital."}}}
    rae, rob, roy = (member(text_project, name, role=Membership.Role.REVIEWER) for name in ("rae", "rob", "roy"))
    task = make_plain_task(text_project, candidates=1, gold=expected)
    answer = task.candidates.get()
    Review.objects.create(
        reviewer=rae,
        candidate=answer,
        decision="correct",
        original_text="x",
        corrected_text="  Canberra is\nthe capital. ",
    )
    Review.objects.create(
        reviewer=rob, candidate=answer, decision="correct", original_text="x", corrected_text="canberra is the capital."
    )
    Review.objects.create(reviewer=roy, candidate=answer, decision="accept", original_text="x")
    scores = gold_scores(project=text_project)
    assert (scores[rae.pk].correct, scores[rae.pk].total) == (1, 1)
    assert (scores[rob.pk].correct, scores[rob.pk].total) == (0, 1)  # case counts
    assert (scores[roy.pk].correct, scores[roy.pk].total) == (0, 1)


def test_accept_and_reject_match_on_the_decision_alone(text_project):
    gold = {"decisions": {"0": {"decision": "reject"}, "1": {"decision": "accept"}}}
    rae = member(text_project, "rae", role=Membership.Role.REVIEWER)
    task = make_plain_task(text_project, candidates=2, gold=gold)
    for index, decision in ((0, "reject"), (1, "reject")):
        Review.objects.create(
            reviewer=rae, candidate=task.candidates.get(index=index), decision=decision, original_text="x"
        )
    score = gold_scores(project=text_project)[rae.pk]
    assert (score.correct, score.total) == (1, 2)


def test_normalised_text_collapses_whitespace_only():
    assert normalised_text("  A\tb\n\n c ") == "A b c"


def test_the_projects_gold_accuracy_leaves_excluded_people_out(project):
    project.quality_min_items = 1
    project.save()
    ann, eve = member(project, "ann"), member(project, "eve")
    task = make_plain_task(project, candidates=1, gold={"ratings": {"0": "good"}})
    Vote.objects.create(user=ann, candidate=task.candidates.get(), value=1)
    Vote.objects.create(user=eve, candidate=task.candidates.get(), value=-1)
    Membership.objects.filter(user=eve).update(excluded_at="2026-01-01T00:00:00Z")
    report = quality_report_compute(project=project)
    assert report["figures"]["gold_accuracy"] == {"value": 1.0, "items": 1}
    eve_row = next(row for row in report["annotators"] if row["username"] == "eve")
    assert eve_row["gold_accuracy"] == {"value": 0.0, "items": 1}
