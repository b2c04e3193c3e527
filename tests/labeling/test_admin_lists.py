"""The admin's lists of tasks and votes stay cheap on large tables: counts per page, estimated table sizes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import admin_lists
from labeling.models import Candidate, Task, Vote
from tests.factories import member, past_first_request


def add_votes(project, count: int, *, start: int = 0) -> None:
    task = Task.objects.create(project=project, prompt=f"prompt {start}", source=Task.Source.BATCH)
    candidates = Candidate.objects.bulk_create(Candidate(task=task, index=i) for i in range(count))
    voters = [member(project, f"voter{start + n}") for n in range(count)]
    Vote.objects.bulk_create(
        Vote(user=voter, candidate=candidate, value=Vote.Value.UP if n % 2 else Vote.Value.DOWN)
        for n, (voter, candidate) in enumerate(zip(voters, candidates, strict=True))
    )


def test_the_task_list_shows_each_tasks_candidates_newest_first(client, staff, project):
    older = Task.objects.create(project=project, prompt="older", source=Task.Source.BATCH)
    newer = Task.objects.create(project=project, prompt="newer", source=Task.Source.BATCH)
    Candidate.objects.bulk_create(Candidate(task=older, index=i) for i in range(3))
    client.force_login(staff)
    response = client.get("/admin/labeling/task/")
    rows = list(response.context["cl"].result_list)
    assert [task.prompt for task in rows] == ["newer", "older"]
    assert [task._candidates for task in rows] == [0, 3]
    assert newer.prompt in response.content.decode()


def test_the_vote_list_runs_the_same_queries_however_many_votes(client, staff, project):
    add_votes(project, 3)
    client.force_login(staff)
    past_first_request(client)
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/labeling/vote/")
    add_votes(project, 40, start=3)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/labeling/vote/").status_code == 200
    assert len(few) == len(many)


@pytest.mark.postgres
def test_a_large_unfiltered_vote_list_is_sized_from_statistics_and_a_filtered_one_is_counted(
    client, staff, project, monkeypatch
):
    monkeypatch.setattr(admin_lists, "EXACT_COUNT_BELOW", 10)
    add_votes(project, 30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE labeling_vote")
    add_votes(project, 6, start=30)  # not in the statistics yet
    client.force_login(staff)

    assert client.get("/admin/labeling/vote/").context["cl"].result_count == 30
    assert client.get("/admin/labeling/vote/?value__exact=1").context["cl"].result_count == 18
