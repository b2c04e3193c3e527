from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labeling.models import Candidate, Membership, Project, ProjectCounts, Task, Vote
from labeling.tasks import count_projects
from tests.factories import make_user, past_first_request


def add_projects(user, start: int, count: int) -> None:
    for number in range(start, start + count):
        project = Project.objects.create(slug=f"p{number}", name=f"Project {number}")
        Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
        task = Task.objects.create(
            project=project,
            prompt=f"prompt {number}",
            source=Task.Source.BATCH,
            status=Task.Status.COMPLETE if number % 2 else Task.Status.READY,
        )
        candidate = Candidate.objects.create(task=task, index=0)
        Vote.objects.create(user=user, candidate=candidate, value=Vote.Value.UP)


def dashboard_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("labeling-dashboard"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_dashboard_shows_each_projects_progress(client, db):
    user = make_user("annie")
    add_projects(user, 0, 2)
    client.force_login(user)
    _, content = dashboard_queries(client)
    assert "Project 0" in content and "Project 1" in content
    projects = {project.slug: project for project in client.get(reverse("labeling-dashboard")).context["projects"]}
    assert projects["p1"].counts.percent_complete == 100 and projects["p0"].counts.percent_complete == 0
    assert projects["p0"].counts.votes == 1 and projects["p0"].counts.candidates == 1


def test_the_dashboard_runs_a_bounded_number_of_queries(client, db):
    user = make_user("annie")
    client.force_login(user)
    add_projects(user, 0, 1)
    few, _ = dashboard_queries(past_first_request(client))
    add_projects(user, 1, 12)
    many, content = dashboard_queries(client)
    assert "Project 12" in content
    assert many == few


def test_the_dashboard_reads_the_background_count_and_says_when_it_was_taken(client, db):
    user = make_user("annie")
    add_projects(user, 0, 1)
    assert count_projects.apply().get() == 1
    task = Task.objects.get()
    Vote.objects.create(user=make_user("bob"), candidate=task.candidates.get(), value=Vote.Value.DOWN)
    client.force_login(user)

    _, content = dashboard_queries(client)
    counts = ProjectCounts.objects.get()
    assert client.get(reverse("labeling-dashboard")).context["projects"][0].counts.votes == 1
    assert f"counted at {timezone.localtime(counts.counted_at):%H:%M}" in content

    count_projects.apply()
    assert client.get(reverse("labeling-dashboard")).context["projects"][0].counts.votes == 2


def test_the_dashboard_counts_a_new_project_at_once_and_costs_the_same_queries_once_counted(client, db):
    user = make_user("annie")
    add_projects(user, 0, 3)
    count_projects.apply()
    add_projects(user, 3, 1)
    client.force_login(user)
    with_new, content = dashboard_queries(client)
    assert client.get(reverse("labeling-dashboard")).context["projects"][3].counts.votes == 1
    count_projects.apply()
    all_counted, _ = dashboard_queries(client)
    assert all_counted < with_new


def test_the_dashboard_lists_only_the_users_projects(client, annotator, outsider):
    client.force_login(annotator)
    _, content = dashboard_queries(client)
    assert "Birds" in content and "Elsewhere" not in content
