"""The leaderboard: Bradley–Terry ratings with bootstrap intervals, from an arena's judgements."""

import json
import math
import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labeling.models import Candidate, Membership, Preference, Task, Vote
from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute
from quality.leaderboard import leaderboard_compute
from tests.factories import make_user, member
from tests.quality.conftest import ARENA_MODELS

TRUE_STRENGTHS = {"alpha": 1.0, "beta": 0.0, "gamma": -1.0}  # centred, as the fit reports them


def by_model(data: dict) -> dict:
    return {entry["model"]: entry for entry in data["models"]}


def simulate_picks(arena, annotator, *, picks: int, seed: int) -> None:
    """``picks`` two-candidate tasks of random model pairs in random order, each judged once as the Bradley–Terry
    model with TRUE_STRENGTHS says."""
    rng = random.Random(seed)
    tasks = Task.objects.bulk_create(
        Task(project=arena, prompt=f"prompt {n}", source=Task.Source.BATCH, status=Task.Status.READY)
        for n in range(picks)
    )
    candidates, winners = [], []
    for task in tasks:
        pair = rng.sample(ARENA_MODELS, 2)
        candidates += [Candidate(task=task, index=index, model_name=model) for index, model in enumerate(pair)]
        first_wins = 1 / (1 + math.exp(TRUE_STRENGTHS[pair[1]] - TRUE_STRENGTHS[pair[0]]))
        winners.append(0 if rng.random() < first_wins else 1)
    Candidate.objects.bulk_create(candidates)
    by_task = {(c.task_id, c.index): c for c in Candidate.objects.filter(task__project=arena)}
    Preference.objects.bulk_create(
        Preference(user=annotator, task=task, choice="best", chosen=by_task[(task.pk, winner)])
        for task, winner in zip(tasks, winners, strict=True)
    )


def test_a_simulated_arena_of_three_models_recovers_their_order_and_each_true_strength_lies_in_its_interval(arena):
    annotator = member(arena, "sim")
    simulate_picks(arena, annotator, picks=300, seed=7)

    data = leaderboard_compute(project=arena, rounds=400)

    assert data["comparisons"] == 300
    assert [entry["model"] for entry in data["models"]] == ["alpha", "beta", "gamma"]
    for model, entry in by_model(data).items():
        assert entry["strength_lower"] <= TRUE_STRENGTHS[model] <= entry["strength_upper"], model
        assert entry["rating_lower"] <= entry["rating"] <= entry["rating_upper"]
    assert sum(entry["comparisons"] for entry in data["models"]) == 600  # each comparison counts for both sides


def test_ties_count_as_half_a_win_for_each_side(arena, judge):
    annotator = member(arena, "ann")
    for _ in range(2):
        judge(annotator, ["alpha", "beta"], "best", 0)
    for _ in range(2):
        judge(annotator, ["beta", "alpha"], "tie", None)

    data = leaderboard_compute(project=arena, rounds=50)

    alpha, beta = by_model(data)["alpha"], by_model(data)["beta"]
    assert (alpha["wins"], alpha["ties"], alpha["losses"], alpha["comparisons"]) == (2, 2, 0, 4)
    assert data["matrix"]["models"] == ["alpha", "beta"]
    assert data["matrix"]["win_rates"] == [[None, 0.75], [0.25, None]]
    # Three wins in four for alpha: the maximum-likelihood gap is ln 3 (the light regularization moves it a little).
    assert alpha["strength"] - beta["strength"] == pytest.approx(math.log(3), rel=0.03)


def test_a_pick_of_the_best_of_n_is_n_minus_1_comparisons_and_same_model_pairs_compare_nothing(arena, judge):
    annotator = member(arena, "ann")
    judge(annotator, ["alpha", "alpha", "beta", "beta"], "best", 1)  # alpha beats both betas; not the other alpha
    judge(annotator, ["alpha", "beta", "beta", "gamma"], "tie", None)  # 5 pairs of different models
    judge(annotator, ["alpha", "beta"], "all_bad", None)  # compares nothing

    data = leaderboard_compute(project=arena, rounds=50)

    entries = by_model(data)
    assert data["comparisons"] == 2 + 5
    assert (entries["alpha"]["wins"], entries["alpha"]["ties"]) == (2, 3)
    assert (entries["beta"]["losses"], entries["beta"]["ties"]) == (2, 4)
    assert entries["gamma"]["ties"] == 3


def test_excluded_annotators_do_not_count(arena, judge):
    kept, excluded = member(arena, "kept"), member(arena, "gone")
    judge(kept, ["alpha", "beta"], "best", 0)
    for _ in range(5):
        judge(excluded, ["alpha", "beta"], "best", 1)
    Vote.objects.create(user=excluded, candidate=Candidate.objects.filter(model_name="beta").first(), value=1)
    Membership.objects.filter(user=excluded).update(excluded_at=timezone.now())

    data = leaderboard_compute(project=arena, rounds=50)

    assert data["comparisons"] == 1
    assert by_model(data)["alpha"]["wins"] == 1
    assert by_model(data)["beta"]["thumbs_up"] == 0
    assert data["excluded_annotators"] == 1


def test_the_thumbs_up_share_is_the_second_view_per_model(arena, judge):
    annotator = member(arena, "ann")
    task = judge(annotator, ["alpha", "beta"], "best", 0).task
    alpha, beta = task.candidates.order_by("index")
    Vote.objects.create(user=annotator, candidate=alpha, value=1)
    Vote.objects.create(user=annotator, candidate=beta, value=-1)
    Vote.objects.create(user=make_user("other"), candidate=beta, value=1)

    entries = by_model(leaderboard_compute(project=arena, rounds=20))

    assert (entries["alpha"]["thumbs_up"], entries["alpha"]["thumbs_down"], entries["alpha"]["thumbs_up_share"]) == (
        1,
        0,
        1.0,
    )
    assert entries["beta"]["thumbs_up_share"] == 0.5


def test_without_comparisons_the_leaderboard_says_so_and_rates_nobody(client, arena, arena_manager):
    out = StringIO()
    call_command("leaderboard", "arena", stdout=out)

    assert "No comparisons yet" in out.getvalue()
    data = FigureSnapshot.objects.get(project=arena, kind="leaderboard").data
    assert data["comparisons"] == 0
    assert [entry["rating"] for entry in data["models"]] == [None, None, None]
    client.force_login(arena_manager)
    page = client.get(f"/p/{arena.slug}/leaderboard").content.decode()
    assert "No comparisons yet" in page


def test_the_page_and_the_command_agree(client, arena, arena_manager):
    simulate_picks(arena, member(arena, "sim"), picks=60, seed=3)
    out = StringIO()

    call_command("leaderboard", "arena", "--format", "json", stdout=out)

    printed = json.loads(out.getvalue())
    client.force_login(arena_manager)
    page = client.get(f"/p/{arena.slug}/leaderboard").content.decode()
    positions = [
        page.index(f'data-model="{entry["model"]}" data-rating="{entry["rating"]}"') for entry in printed["models"]
    ]
    assert positions == sorted(positions)
    for entry in printed["models"]:
        assert f"{entry['rating_lower']} – {entry['rating_upper']}" in page
    table = StringIO()
    call_command("leaderboard", "arena", stdout=table)
    lines = table.getvalue().splitlines()
    assert [line.split()[1] for line in lines[3:]] == [entry["model"] for entry in printed["models"]]


def test_the_same_judgements_always_give_the_same_figures(arena):
    simulate_picks(arena, member(arena, "sim"), picks=40, seed=5)

    first = figures_compute(project_id=arena.pk, kind="leaderboard")
    changed_at = first.changed_at
    second = figures_compute(project_id=arena.pk, kind="leaderboard")

    assert second.data == first.data
    assert second.changed_at == changed_at  # nothing new for the export to publish
    assert second.computed_at > changed_at


def test_the_command_names_the_projects_when_the_slug_is_unknown(arena):
    with pytest.raises(CommandError, match="No project with the slug 'nope'; the projects are: arena"):
        call_command("leaderboard", "nope")
