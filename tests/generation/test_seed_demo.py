"""seed_demo's showcase: an image arena of two demo models with judgements, answers waiting for review, a text
comparison task, and pages that say it is demo data."""

import pytest
from django.core.management import call_command

from accounts.models import User
from labeling.models import Candidate, Preference, Project, Task
from labeling.review_selectors import review_waiting_for
from quality.figures import figures_compute


@pytest.fixture
def seeded(db, settings, demo_model_path):
    settings.DEMO_MODEL_PATH = demo_model_path
    settings.SD_MODEL = ""
    call_command("seed_demo")
    return Project.objects.get(slug="demo-arena")


def test_seed_demo_builds_an_arena_of_two_demo_models_with_judgements_the_leaderboard_ranks(seeded, demo_model_path):
    second = f"{demo_model_path}-b"
    tasks = Task.objects.filter(project=seeded)
    assert set(tasks.values_list("status", flat=True)) <= {Task.Status.READY, Task.Status.COMPLETE}
    for task in tasks:
        models = list(task.candidates.values_list("model_name", flat=True))
        assert sorted(models) == sorted([str(demo_model_path)] * 2 + [second] * 2)
    assert Preference.objects.filter(task__project=seeded).count() == 4 * tasks.count()

    leaderboard = figures_compute(project_id=seeded.pk, kind="leaderboard").data

    assert leaderboard["comparisons"] > 0
    assert [entry["model"] for entry in leaderboard["models"]] == [str(demo_model_path), second]


def test_seed_demo_leaves_answers_waiting_for_the_reviewer_and_a_comparison_task(client, seeded):
    text = Project.objects.get(slug="demo-text")
    reviewer = User.objects.get(username="reviewer")
    waiting = review_waiting_for(user=reviewer, project=text)
    assert waiting.count() >= 3
    assert Candidate.objects.filter(task__project=text, review_state="accepted").exists()
    client.force_login(reviewer)

    review = client.get("/review/", follow=True).content.decode()
    comparison = client.get("/p/demo-text/compare/").content.decode()
    project_page = client.get("/p/demo-arena/").content.decode()

    assert "Which answer is better?" in comparison and "commit message" in comparison
    assert any(answer.text[:20] in review for answer in waiting)
    assert "Demo data" in project_page and "SD_MODEL" in project_page and "OPENAI_BASE_URL" in project_page


def test_seed_demo_twice_changes_nothing(seeded):
    counts = (Task.objects.count(), Candidate.objects.count(), Preference.objects.count())

    call_command("seed_demo")

    assert (Task.objects.count(), Candidate.objects.count(), Preference.objects.count()) == counts
