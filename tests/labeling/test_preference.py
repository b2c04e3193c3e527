import pytest
from django.urls import reverse

from labeling.models import Preference, Project, Task
from tests.factories import make_ready_task

HTMX = {"HTTP_HX_REQUEST": "true"}


def pick(client, task, choice, chosen=None, **headers):
    data = {"choice": choice} | ({"chosen": str(chosen.uid)} if chosen is not None else {})
    return client.post(reverse("labeling-preference", args=[task.pk]), data, **{**HTMX, **headers})


@pytest.fixture
def annotator_client(client, annotator):
    client.force_login(annotator)
    return client


def test_picking_the_best_returns_the_grid_with_the_pick_marked(annotator_client, annotator, ready_task):
    best = ready_task.candidates.get(index=2)
    response = pick(annotator_client, ready_task, "best", best)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="candidates"')
    assert html.count('class="choose-best" aria-pressed="true"') == 1
    assert "Your pick: candidate 3" in html
    assert Preference.objects.get(user=annotator).chosen == best


def test_a_new_pick_replaces_the_old_one(annotator_client, annotator, ready_task):
    pick(annotator_client, ready_task, "best", ready_task.candidates.get(index=0))
    response = pick(annotator_client, ready_task, "tie")
    assert 'id="choose-tie" aria-pressed="true"' in response.content.decode()
    pick(annotator_client, ready_task, "all_bad")
    preference = Preference.objects.get(user=annotator)
    assert (preference.choice, preference.chosen) == (Preference.Choice.ALL_BAD, None)


def test_without_javascript_a_pick_redirects_back_to_the_task(annotator_client, annotator, ready_task):
    response = annotator_client.post(reverse("labeling-preference", args=[ready_task.pk]), {"choice": "tie"})
    assert response.status_code == 302 and response["Location"] == ready_task.get_absolute_url()
    assert Preference.objects.get(user=annotator).choice == Preference.Choice.TIE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": "best"}, "Say which candidate is best."),
        ({"choice": "favourite"}, "A pick must be one of: best, tie, all_bad"),
        ({"choice": "tie", "chosen": "FIRST"}, "A tie pick names no candidate."),
        ({"choice": "best", "chosen": "not-a-uuid"}, "'not-a-uuid' is not a candidate id."),
    ],
)
def test_it_rejects_a_malformed_pick(annotator_client, ready_task, data, message):
    if data.get("chosen") == "FIRST":
        data["chosen"] = str(ready_task.candidates.first().uid)
    response = annotator_client.post(reverse("labeling-preference", args=[ready_task.pk]), data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Preference.objects.exists()


def test_it_rejects_a_best_pick_naming_another_tasks_candidate(annotator_client, project, ready_task):
    other = make_ready_task(project, prompt="another task")
    response = pick(annotator_client, ready_task, "best", other.candidates.first())
    assert response.status_code == 400
    assert "belongs to another task" in response.content.decode()
    assert not Preference.objects.exists()


def test_it_refuses_a_pick_on_a_task_that_is_not_ready(annotator_client, project):
    task = make_ready_task(project, status=Task.Status.GENERATING)
    response = pick(annotator_client, task, "tie")
    assert response.status_code == 409
    assert not Preference.objects.exists()


def test_a_single_candidate_has_no_best(annotator_client, project):
    task = make_ready_task(project, candidates=1)
    assert 'id="choose-tie"' not in annotator_client.get(task.get_absolute_url()).content.decode()
    response = pick(annotator_client, task, "best", task.candidates.first())
    assert response.status_code == 400 and "at least two candidates" in response.content.decode()
    assert not Preference.objects.exists()


def test_outsiders_cannot_pick(client, outsider, ready_task):
    client.force_login(outsider)
    assert pick(client, ready_task, "tie").status_code == 404
    assert not Preference.objects.exists()


def test_a_pick_on_another_projects_task_is_not_found(annotator_client, outsider):
    task = make_ready_task(Project.objects.get(slug="elsewhere"))
    assert pick(annotator_client, task, "tie").status_code == 404
    assert not Preference.objects.exists()
