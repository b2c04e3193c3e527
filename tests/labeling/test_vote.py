import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labeling.models import Membership, Project, Task, Vote
from tests.factories import make_ready_task, make_user, past_first_request

HTMX = {"HTTP_HX_REQUEST": "true"}


def vote(client, candidate, value, **headers):
    return client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, **{**HTMX, **headers})


def votes_of(user) -> list[tuple[int, int]]:
    return sorted(Vote.objects.filter(user=user).values_list("candidate__index", "value"))


@pytest.fixture
def annotator_client(client, annotator):
    client.force_login(annotator)
    return client


def test_a_vote_returns_the_candidates_buttons_showing_it(annotator_client, annotator, ready_task):
    candidate = ready_task.candidates.get(index=1)
    response = vote(annotator_client, candidate, "up")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form class="vote"')
    assert 'class="vote-up" title="Good (u)" aria-pressed="true"' in html
    assert 'class="vote-down" title="Bad (d)" aria-pressed="false"' in html
    assert votes_of(annotator) == [(1, Vote.Value.UP)]


def test_changing_a_vote_rewrites_the_same_row(annotator_client, annotator, ready_task):
    candidate = ready_task.candidates.get(index=0)
    vote(annotator_client, candidate, "up")
    first = Vote.objects.get()
    response = vote(annotator_client, candidate, "down")
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in response.content.decode()
    changed = Vote.objects.get()
    assert (changed.pk, changed.value, changed.created_at) == (first.pk, Vote.Value.DOWN, first.created_at)
    assert changed.updated_at > first.updated_at


def test_a_repeated_vote_counts_once(annotator_client, annotator, ready_task):
    candidate = ready_task.candidates.get(index=0)
    for _ in range(3):
        assert vote(annotator_client, candidate, "up").status_code == 200
    assert votes_of(annotator) == [(0, Vote.Value.UP)]


def test_withdrawing_keeps_the_row_as_withdrawn_and_withdrawing_nothing_writes_nothing(
    annotator_client, annotator, ready_task
):
    voted, untouched = ready_task.candidates.get(index=0), ready_task.candidates.get(index=1)
    vote(annotator_client, voted, "up")
    response = vote(annotator_client, voted, "withdraw")
    assert response.status_code == 200 and 'aria-pressed="true"' not in response.content.decode()
    assert vote(annotator_client, untouched, "withdraw").status_code == 200
    assert votes_of(annotator) == [(0, Vote.Value.WITHDRAWN)]


def test_without_javascript_a_vote_redirects_back_to_the_task(annotator_client, annotator, ready_task):
    candidate = ready_task.candidates.get(index=2)
    response = annotator_client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "down"})
    assert response.status_code == 302
    assert response["Location"] == f"{ready_task.get_absolute_url()}#candidate-{candidate.uid}"
    assert votes_of(annotator) == [(2, Vote.Value.DOWN)]
    page = annotator_client.get(response["Location"]).content.decode()
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in page


def test_it_rejects_votes_from_outsiders(client, outsider, ready_task):
    client.force_login(outsider)
    response = vote(client, ready_task.candidates.first(), "up")
    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_a_candidate_of_another_project_is_not_found(client, annotator, outsider):
    elsewhere = Project.objects.get(slug="elsewhere")
    task = make_ready_task(elsewhere)
    client.force_login(annotator)
    assert vote(client, task.candidates.first(), "up").status_code == 404
    assert not Vote.objects.exists()


@pytest.mark.parametrize("status", [Task.Status.NEW, Task.Status.GENERATING, Task.Status.FAILED])
def test_it_refuses_votes_on_a_task_that_is_not_ready(annotator_client, project, status):
    task = make_ready_task(project, status=status)
    response = vote(annotator_client, task.candidates.first(), "up")
    assert response.status_code == 409
    assert f"not taking feedback: it is {Task.Status(status).label.lower()}" in response.content.decode()
    assert not Vote.objects.exists()
    assert Task.objects.get(pk=task.pk).status == status


def test_a_refused_plain_form_vote_shows_the_reason_on_a_page(annotator_client, project):
    task = make_ready_task(project, status=Task.Status.FAILED)
    response = annotator_client.post(reverse("labeling-vote", args=[task.candidates.first().uid]), {"value": "up"})
    assert response.status_code == 409
    assert "not taking feedback" in response.content.decode() and task.get_absolute_url() in response.content.decode()
    assert not Vote.objects.exists()


@pytest.mark.parametrize("value", ["", "sideways", "1", "UP"])
def test_it_rejects_an_unknown_vote_value(annotator_client, ready_task, value):
    response = vote(annotator_client, ready_task.candidates.first(), value)
    assert response.status_code == 400
    assert "A vote must be one of: up, down, withdraw" in response.content.decode()
    assert not Vote.objects.exists()


def test_a_vote_without_a_csrf_token_is_forbidden(annotator, ready_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    response = vote(client, ready_task.candidates.first(), "up")
    assert response.status_code == 403
    assert not Vote.objects.exists()


def test_a_vote_with_the_pages_csrf_token_is_accepted(annotator, ready_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    client.get(ready_task.get_absolute_url())
    token = client.cookies["csrftoken"].value
    assert vote(client, ready_task.candidates.first(), "up", HTTP_X_CSRFTOKEN=token).status_code == 200
    assert Vote.objects.count() == 1


def test_htmx_gets_buttons_without_a_token_and_votes_again_with_the_pages_header(annotator, ready_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    page = client.get(ready_task.get_absolute_url()).content.decode()
    assert page.count("csrfmiddlewaretoken") >= 4 and "X-CSRFToken" in page
    token = client.cookies["csrftoken"].value
    candidate = ready_task.candidates.first()
    first = vote(client, candidate, "up", HTTP_X_CSRFTOKEN=token)
    assert first.status_code == 200 and "csrfmiddlewaretoken" not in first.content.decode()
    again = vote(client, candidate, "down", HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 200
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in again.content.decode()
    assert votes_of(annotator) == [(candidate.index, Vote.Value.DOWN)]


def test_a_task_completes_when_every_candidate_has_the_overlap_and_reopens_on_withdrawal(client, project):
    project.votes_per_candidate = 2
    project.max_judgements = 2  # no adaptive overlap: a split candidate is full at the overlap too
    project.save()
    task = make_ready_task(project, candidates=2)
    first, second = make_user("ann1"), make_user("ann2")
    for user in (first, second):
        Membership.objects.create(user=user, project=project)
    client.force_login(first)
    for candidate in task.candidates.all():
        vote(client, candidate, "up")
    client.force_login(second)
    vote(client, task.candidates.get(index=0), "down")
    task.refresh_from_db()
    assert task.status == Task.Status.READY
    vote(client, task.candidates.get(index=1), "up")
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETE

    vote(client, task.candidates.get(index=1), "withdraw")
    task.refresh_from_db()
    assert task.status == Task.Status.READY
    vote(client, task.candidates.get(index=1), "down")
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETE


@pytest.mark.postgres
def test_migrate_defines_the_votes_database_function_again(client, project):
    """A database whose function was dropped (or is older than labeling/votes.py) gets it back on the next migrate,
    with no migration to apply; voting and completing work through it."""
    project.votes_per_candidate = 1
    project.save()
    task = make_ready_task(project, candidates=1)
    annotator = make_user("migrated")
    Membership.objects.create(user=annotator, project=project)
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION labeling_vote_write")
    call_command("migrate", verbosity=0)
    client.force_login(annotator)
    assert vote(client, task.candidates.get(), "up").status_code == 200
    assert votes_of(annotator) == [(0, Vote.Value.UP)]
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETE


def test_a_complete_task_still_takes_a_late_annotators_votes(client, annotator, project):
    task = make_ready_task(project, candidates=1, status=Task.Status.COMPLETE)
    client.force_login(annotator)
    assert vote(client, task.candidates.first(), "down").status_code == 200
    assert votes_of(annotator) == [(0, Vote.Value.DOWN)]


def test_annotators_may_not_judge_outputs_of_their_own_typed_prompt(annotator_client, annotator, project):
    own = make_ready_task(project, source=Task.Source.TYPED, created_by=annotator)
    response = vote(annotator_client, own.candidates.first(), "up")
    assert response.status_code == 403
    assert "your own prompt" in response.content.decode()
    assert not Vote.objects.exists()
    page = annotator_client.get(own.get_absolute_url()).content.decode()
    assert "Your own prompt" in page and 'class="vote"' not in page

    project.forbid_self_voting = False
    project.save()
    assert vote(annotator_client, own.candidates.first(), "up").status_code == 200


def test_the_task_page_shows_each_candidate_with_the_users_vote(annotator_client, annotator, ready_task):
    vote(annotator_client, ready_task.candidates.get(index=3), "down")
    page = annotator_client.get(ready_task.get_absolute_url()).content.decode()
    assert page.count('class="vote"') == 4
    assert page.count('aria-pressed="true"') == 1
    assert 'class="vote-down" title="Bad (d)" aria-pressed="true"' in page
    assert 'id="candidates"' in page and "js/task.js" in page and 'id="shortcuts"' in page


def test_the_candidates_partial_renders_the_same_voting_grid(annotator_client, annotator, ready_task):
    vote(annotator_client, ready_task.candidates.get(index=0), "up")
    page = annotator_client.get(ready_task.get_absolute_url()).content.decode()
    partial = annotator_client.get(reverse("labeling-task-candidates", args=[ready_task.pk]), **HTMX)
    html = partial.content.decode()
    assert html.lstrip().startswith('<section id="candidates"')
    grid = html.strip()
    assert grid.split("csrfmiddlewaretoken")[0] in page
    assert html.count('class="vote"') == 4 and html.count('aria-pressed="true"') == 1


def test_a_task_still_generating_shows_no_voting_buttons(annotator_client, project):
    task = make_ready_task(project, candidates=0, status=Task.Status.GENERATING)
    page = annotator_client.get(task.get_absolute_url()).content.decode()
    assert "No candidates yet" in page and 'class="vote"' not in page


def _others_vote_on(task, count: int) -> None:
    for number in range(count):
        user = make_user(f"other{task.pk}-{number}")
        Vote.objects.bulk_create(Vote(user=user, candidate=candidate, value=1) for candidate in task.candidates.all())


def test_the_vote_post_runs_the_same_queries_however_many_candidates_and_votes(annotator_client, project):
    project.votes_per_candidate = 10
    project.save()
    small = make_ready_task(project, candidates=2, prompt="small")
    large = make_ready_task(project, candidates=12, prompt="large")
    _others_vote_on(large, 5)
    past_first_request(annotator_client)
    counts = []
    for task in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert vote(annotator_client, task.candidates.last(), "up").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 10


def test_the_task_page_runs_the_same_queries_however_many_candidates_and_votes(annotator_client, annotator, project):
    small = make_ready_task(project, candidates=1, prompt="small")
    large = make_ready_task(project, candidates=12, prompt="large")
    _others_vote_on(large, 5)
    Vote.objects.bulk_create(Vote(user=annotator, candidate=c, value=-1) for c in large.candidates.all())
    past_first_request(annotator_client)
    counts = []
    for task in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = annotator_client.get(task.get_absolute_url())
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
