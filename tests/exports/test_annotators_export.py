"""The export's quality columns: ``gold`` and ``excluded`` on judgement rows, the ``annotators`` table (written
again only when a person's figures change, newest wins), and the dataset card's recipe for dropping both."""

import re

import pandas as pd
import pytest
from django.utils import timezone

from exports.run import export_run
from labeling.models import Membership, Preference, Review, Vote
from tests.exports.conftest import read_table
from tests.factories import make_image_task, make_text_task, member


@pytest.fixture
def judged(project, text_project):
    """ann and eve judge a gold and an ordinary image task (votes and picks) and review a gold answer."""
    ann, eve = member(project, "ann"), member(project, "eve")
    for user in (ann, eve):
        Membership.objects.create(user=user, project=text_project, role=Membership.Role.REVIEWER)
    gold = make_image_task(project, "a gold heron", count=2)
    gold.gold = {"ratings": {"0": "good", "1": "bad"}, "best": 0}
    gold.save()
    ordinary = make_image_task(project, "a plain wren", count=2)
    for user, value in ((ann, 1), (eve, -1)):
        for task in (gold, ordinary):
            for candidate in task.candidates.all():
                Vote.objects.create(user=user, candidate=candidate, value=value)
    Preference.objects.create(user=ann, task=gold, choice="best", chosen=gold.candidates.get(index=0))
    Preference.objects.create(user=eve, task=ordinary, choice="tie")
    answer = make_text_task(text_project, "2+2?", ["5"])
    answer.gold = {"decisions": {"0": {"decision": "correct", "text": "4"}}}
    answer.save()
    for user in (ann, eve):
        Review.objects.create(
            reviewer=user, candidate=answer.candidates.get(), decision="correct", original_text="5", corrected_text="4"
        )
    return {"ann": ann, "eve": eve, "gold": gold}


def _exclude(user, project):
    Membership.objects.filter(user=user, project=project).update(excluded_at=timezone.now())


def test_an_excluded_annotators_rows_carry_the_flag_and_gold_rows_the_gold_flag(oxen_repo, judged, project):
    _exclude(judged["eve"], project)
    export_run()
    votes = read_table(oxen_repo, "votes")
    eve_id, ann_id = str(judged["eve"].public_id), str(judged["ann"].public_id)
    assert set(votes[votes.annotator == eve_id].excluded) == {True}
    assert set(votes[votes.annotator == ann_id].excluded) == {False}
    assert sorted(votes[votes.gold].prompt.unique()) == ["a gold heron"]
    assert set(votes[votes.prompt == "a plain wren"].gold) == {False}
    pairs = read_table(oxen_repo, "preferences")
    assert dict(zip(pairs.annotator, pairs.gold, strict=True)) == {ann_id: True, eve_id: False}
    reviews = read_table(oxen_repo, "reviews")
    # eve is excluded from the image project only: her review in the text project is not flagged.
    assert set(reviews.gold) == {True} and set(reviews.excluded) == {False}


def test_the_annotators_table_holds_each_persons_figures_as_of_the_export(oxen_repo, judged, project):
    project.quality_min_items = 1
    project.save()
    _exclude(judged["eve"], project)
    run = export_run()
    people = read_table(oxen_repo, "annotators").set_index("id")
    assert sorted(people.index) == sorted(
        f"{slug}:{user.public_id}" for slug in ("answers", "birds") for user in (judged["ann"], judged["eve"])
    )
    ann = people.loc[f"birds:{judged['ann'].public_id}"]
    # ann: 👍 on the good and the bad gold image, and the right best pick: 2 of 3.
    assert (ann.gold_accuracy, ann.gold_items) == (pytest.approx(2 / 3), 3)
    assert ann.judgements == 5 and not ann.excluded
    eve = people.loc[f"birds:{judged['eve'].public_id}"]
    assert eve.excluded and (eve.gold_accuracy, eve.gold_items) == (0.5, 2)
    assert pd.Timestamp(run.started_at) == ann.updated_at


def test_a_person_is_written_again_only_when_their_figures_change_and_the_newest_row_wins(oxen_repo, judged, project):
    export_run()
    assert export_run().commit_id == ""  # nothing changed: no rows, no commit

    _exclude(judged["eve"], project)
    export_run()
    people = read_table(oxen_repo, "annotators")
    eve_id = f"birds:{judged['eve'].public_id}"
    rows = people[people.id == eve_id].sort_values("updated_at")
    assert list(rows.excluded) == [False, True]
    newest = people.sort_values("updated_at").drop_duplicates("id", keep="last")
    assert list(newest[newest.excluded].id) == [eve_id]
    # ann's agreement in birds rested on eve's votes alone, so it changed too; nothing changed in answers.
    assert sorted(people.id.str.split(":").str[0]) == ["answers", "answers", "birds", "birds", "birds", "birds"]


def _card_code(card: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", card, flags=re.DOTALL)


def test_the_dataset_cards_recipe_drops_excluded_people_and_gold_items(oxen_repo, judged, project, monkeypatch):
    _exclude(judged["eve"], project)
    export_run()
    loading, dropping, *_ = (
        code for code in _card_code((oxen_repo / "README.md").read_text()) if "datasets" not in code
    )
    monkeypatch.chdir(oxen_repo)
    scope: dict = {}
    exec(loading + dropping, scope)  # noqa: S102 - the card's own code, run as a reader would
    votes = scope["votes"]
    assert set(votes.prompt) == {"a plain wren"}
    assert set(votes.annotator) == {str(judged["ann"].public_id)}
