"""Judgements through the API: the dataset's columns (the export's own row builders), paged by cursor."""

import pytest
from django.urls import reverse

from exports.tables.contract import COLUMNS
from labeling.models import Membership, Preference, Review, Vote
from tests.api.conftest import api
from tests.factories import make_image_task, make_text_task

pytestmark = pytest.mark.django_db


def columns(table: str) -> set[str]:
    return {name for name, _, _ in COLUMNS[table]}


def walk(client, url: str, **params) -> list[dict]:
    rows, page = [], client.get(url, params).json()
    while True:
        rows += page["results"]
        if page["next"] is None:
            return rows
        page = client.get(page["next"]).json()


def test_votes_come_in_the_datasets_columns_oldest_change_first(manager, annotator, project):
    task = make_image_task(project, "a heron", count=3)
    candidates = list(task.candidates.order_by("index"))
    votes = [Vote.objects.create(user=annotator, candidate=c, value=Vote.Value.UP) for c in candidates]
    votes[0].value = Vote.Value.DOWN
    votes[0].save()  # changed last
    rows = walk(api(manager), reverse("api-votes", args=[project.slug]), page_size=2)
    assert [row["id"] for row in rows] == [votes[1].pk, votes[2].pk, votes[0].pk]
    assert set(rows[0]) == columns("votes")
    by_id = {row["id"]: row for row in rows}
    first = by_id[votes[0].pk]
    assert (first["prompt"], first["rating"], first["seed"], first["steps"], first["guidance"]) == (
        "a heron",
        "bad",
        1000,
        10,
        7.5,
    )
    assert first["path"].endswith(reverse("labeling-candidate-image", args=[candidates[0].uid]))
    assert first["candidate_uid"] == str(candidates[0].uid)
    assert first["annotator"] == str(annotator.public_id) and first["project"] == "birds"
    assert first["updated_at"].endswith("Z")


def test_pages_follow_the_change_order_without_gaps_or_repeats(manager, annotator, project):
    task = make_image_task(project, "a heron", count=5)
    votes = [Vote.objects.create(user=annotator, candidate=c, value=Vote.Value.UP) for c in task.candidates.all()]
    rows = walk(api(manager), reverse("api-votes", args=[project.slug]), page_size=2)
    expected = sorted(Vote.objects.filter(pk__in=[v.pk for v in votes]).values_list("updated_at", "pk"))
    assert [row["id"] for row in rows] == [pk for _, pk in expected]
    since = expected[3][0].isoformat()
    later = walk(api(manager), reverse("api-votes", args=[project.slug]), updated_since=since)
    assert [row["id"] for row in later] == [pk for _, pk in expected[3:]]


def test_image_picks_come_as_the_datasets_preference_pairs(manager, annotator, project):
    task = make_image_task(project, "a heron", count=3)
    best = task.candidates.get(index=1)
    Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.BEST, chosen=best)
    rows = api(manager).get(reverse("api-picks", args=[project.slug])).json()["results"]
    assert [set(row) for row in rows] == [columns("preferences")] * 2  # best of 3: two pairs
    assert [(row["label_0"], row["choice"]) for row in rows] == [(0.0, "best"), (1.0, "best")]
    assert rows[0]["jpg_1"].endswith(reverse("labeling-candidate-image", args=[best.uid]))


def test_answer_picks_come_as_the_datasets_text_dpo_rows(manager, annotator, text_project):
    Membership.objects.create(user=manager, project=text_project, role=Membership.Role.MANAGER)
    task = make_text_task(text_project, "Capital of Peru?", ["Lima.", "Cusco."])
    Preference.objects.create(user=manager, task=task, choice="best", chosen=task.candidates.get(index=0))
    (row,) = api(manager).get(reverse("api-picks", args=[text_project.slug])).json()["results"]
    assert set(row) == columns("text_dpo")
    assert (row["prompt"], row["chosen"], row["rejected"], row["source"]) == (
        "Capital of Peru?",
        "Lima.",
        "Cusco.",
        "preference",
    )


def test_reviews_come_in_the_datasets_columns(manager, text_project):
    Membership.objects.create(user=manager, project=text_project, role=Membership.Role.MANAGER)
    task = make_text_task(text_project, "Capital of Peru?", ["Maybe Cusco."])
    Review.objects.create(
        reviewer=manager,
        candidate=task.candidates.get(),
        decision="correct",
        original_text="Maybe Cusco.",
        corrected_text="Lima.",
    )
    (row,) = api(manager).get(reverse("api-reviews", args=[text_project.slug])).json()["results"]
    assert set(row) == columns("reviews")
    assert (row["response"], row["final"], row["decision"]) == ("Maybe Cusco.", "Lima.", "correct")
    assert row["confidence"] == 0.4


def test_judgements_are_for_managers(annotator, reviewer, project):
    for user in (annotator, reviewer):
        answer = api(user).get(reverse("api-votes", args=[project.slug]))
        assert answer.status_code == 403
        assert answer.json()["detail"] == "Your role in Birds does not allow this (manage)."
