"""The export's leaderboard table and the dataset card's leaderboard section."""

import json
from io import StringIO

from django.core.management import call_command

from exports.models import ExportRun
from exports.run import export_run
from labeling.models import Preference, Project
from tests.exports.conftest import read_table
from tests.factories import make_arena_task, member


def pick(arena, user, models, chosen):
    task = make_arena_task(arena, models)
    return Preference.objects.create(user=user, task=task, choice="best", chosen=task.candidates.get(index=chosen))


def test_each_version_of_an_arenas_leaderboard_is_exported_once_and_shown_in_the_dataset_card(oxen_repo, project):
    arena = Project.objects.create(
        slug="arena", name="Arena", kind=Project.Kind.TEXT, candidates_per_task=2, arena_models="big-a\nsmall-b"
    )
    ann = member(arena, "ann")
    for chosen in (0, 0, 1):
        pick(arena, ann, ["big-a", "small-b"], chosen)

    first = export_run()
    unchanged = export_run()
    pick(arena, ann, ["small-b", "big-a"], 1)
    changed = export_run()

    assert first.status == unchanged.status == changed.status == ExportRun.Status.SUCCEEDED
    assert first.counts["leaderboard"] == 2
    assert unchanged.counts.get("leaderboard", 0) == 0
    assert changed.counts["leaderboard"] == 2
    table = read_table(oxen_repo, "leaderboard")
    assert sorted(table["id"]) == ["arena:big-a", "arena:big-a", "arena:small-b", "arena:small-b"]
    newest = table[table.updated_at == table.updated_at.max()].set_index("model")
    out = StringIO()
    call_command("leaderboard", "arena", "--format", "json", stdout=out)
    printed = {entry["model"]: entry for entry in json.loads(out.getvalue())["models"]}
    for model in ("big-a", "small-b"):
        assert newest.loc[model, "rating"] == printed[model]["rating"]
        assert newest.loc[model, "rating_lower"] == printed[model]["rating_lower"]
        assert newest.loc[model, "comparisons"] == printed[model]["comparisons"] == 4
    assert newest.loc["big-a", "rank"] == 1 and newest.loc["big-a", "wins"] == 3
    card = (oxen_repo / "README.md").read_text()
    assert "## Leaderboard" in card and "### arena (computed" in card
    assert f"| 1 | big-a | {printed['big-a']['rating']} |" in card
    assert "| `rating_lower` | double |" in card


def test_a_dataset_without_arenas_says_so_in_its_card(oxen_repo, project):
    export_run()

    assert "No arena project has a leaderboard in this dataset yet." in (oxen_repo / "README.md").read_text()
