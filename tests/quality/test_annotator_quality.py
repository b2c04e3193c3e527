"""Annotator quality on a simulated project, and the pace and straight-lining figures on hand-made timelines."""

from datetime import UTC, datetime, timedelta

import pytest

from labeling.models import Vote
from quality.report import quality_report_compute
from tests.factories import judged_at, make_plain_task, member
from tests.quality.simulation import simulate


def test_a_simulated_project_flags_the_random_and_the_always_up_annotators_and_not_the_honest_ones(project):
    simulate(project)
    rows = {row["username"]: row for row in quality_report_compute(project=project)["annotators"]}
    for honest in ("hana", "hugo", "hal"):
        assert rows[honest]["flags"] == [], rows[honest]
        assert rows[honest]["gold_accuracy"]["value"] > 0.85
    assert any("gold accuracy" in flag for flag in rows["rex"]["flags"]), rows["rex"]
    assert any("agreement" in flag for flag in rows["rex"]["flags"]), rows["rex"]
    assert any("repeat the one before" in flag for flag in rows["alf"]["flags"]), rows["alf"]
    assert rows["alf"]["identical_share"]["value"] == 1.0


def test_median_seconds_leave_breaks_out_and_identical_answers_count_repeats(project):
    project.quality_min_items = 1
    project.save()
    ann = member(project, "ann")
    task = make_plain_task(project, candidates=5)
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    # Gaps: 4 s, 10 s, a 2-hour break (left out), 2 s → median of 4, 10, 2 is 4.
    offsets = [0, 4, 14, 14 + 7200, 14 + 7202]
    values = [1, 1, -1, -1, -1]
    for index, (offset, value) in enumerate(zip(offsets, values, strict=True)):
        vote = Vote.objects.create(user=ann, candidate=task.candidates.get(index=index), value=value)
        judged_at(vote, start + timedelta(seconds=offset))
    row = quality_report_compute(project=project)["annotators"][0]
    assert row["median_seconds"] == {"value": pytest.approx(4.0, abs=0.01), "items": 3}
    # Pairs: (👍,👍) same, (👍,👎) not, (👎,👎) same, (👎,👎) same: 3 of 4.
    assert row["identical_share"] == {"value": 0.75, "items": 4}


def test_a_too_fast_annotator_is_flagged_with_the_reason(project):
    project.quality_min_items = 1
    project.save()
    ann = member(project, "ann")
    task = make_plain_task(project, candidates=4)
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    for index in range(4):
        vote = Vote.objects.create(user=ann, candidate=task.candidates.get(index=index), value=1 if index % 2 else -1)
        judged_at(vote, start + timedelta(seconds=index * 0.4))
    (row,) = quality_report_compute(project=project)["annotators"]
    assert row["flags"] == ["median 0.4 s per judgement is faster than 1 s"]
