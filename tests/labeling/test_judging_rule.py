"""The rules of judging are stated once each, in three forms: ``Task.judgeable_by`` (one task in hand), its Q
expression (querysets: the queue, answer pairs) and the SQL of labeling/votes.py (the vote's one statement). These
tests hold the three to the same answers over every combination, and the completion SQL to the ORM's count."""

import itertools
import random

import pytest
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from labeling.models import Candidate, Membership, Project, Task, Vote
from labeling.selectors import fewest_cast_votes
from labeling.votes import judging_refusal
from tests.factories import make_user

OWNERS = ["me", "someone else", "nobody"]


def _cases():
    for forbid, source, owner, status in itertools.product(
        [True, False], list(Task.Source), OWNERS, list(Task.Status)
    ):
        yield pytest.param(forbid, source, owner, status, id=f"forbid={forbid}-{source}-{owner}-{status}")


@pytest.mark.parametrize(("forbid", "source", "owner", "status"), list(_cases()))
def test_the_method_the_q_expression_and_the_votes_sql_agree(project, annotator, forbid, source, owner, status):
    project.forbid_self_voting = forbid
    project.save()
    other = make_user("someone")
    created_by = {"me": annotator, "someone else": other, "nobody": None}[owner]
    task = Task.objects.create(project=project, prompt="p", source=source, status=status, created_by=created_by)
    candidate = Candidate.objects.create(task=task, index=0)

    by_method = judging_refusal(user=annotator, task=task) is None  # Task.judgeable_by and the status
    judgeable_tasks = Task.objects.filter(Task.judgeable_by_q(annotator), status__in=Task.JUDGEABLE_STATUSES)
    by_query = judgeable_tasks.filter(pk=task.pk).exists()
    by_candidate_query = Candidate.objects.filter(
        Task.judgeable_by_q(annotator, via="task__"), pk=candidate.pk
    ).exists() and (status in Task.JUDGEABLE_STATUSES)
    client = Client()
    client.force_login(annotator)
    response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, HTTP_HX_REQUEST="true")
    by_sql = Vote.objects.filter(user=annotator, candidate=candidate).exists()

    own_prompt = forbid and source == Task.Source.TYPED and owner == "me"
    taking_feedback = status in ("ready", "complete")
    expected = not own_prompt and taking_feedback
    assert by_method == by_query == by_candidate_query == by_sql == expected
    assert response.status_code == (403 if own_prompt else 409 if not taking_feedback else 200)


def _full_by_orm(task: Task) -> bool:
    """The queue's own reading: the task's least-voted candidate has the overlap, counted by hand and by the
    selectors' expression alike."""
    cast = Count("votes", filter=~Q(votes__value=Vote.Value.WITHDRAWN))
    overlap = task.project.votes_per_candidate
    by_hand = not Candidate.objects.filter(task=task).annotate(cast=cast).filter(cast__lt=overlap).exists()
    by_selector = Task.objects.annotate(fewest=fewest_cast_votes()).get(pk=task.pk).fewest >= overlap
    assert by_hand == by_selector
    return by_hand


def test_completion_and_reopening_follow_the_count_of_cast_votes_through_any_sequence(project):
    """Random votes, changes and withdrawals by five annotators: after each, the task is complete exactly when the
    ORM counts it full (a complete task only reopens on a withdrawal, so the check runs in both directions)."""
    project.votes_per_candidate = 2
    project.save()
    task = Task.objects.create(project=project, prompt="p", source=Task.Source.BATCH, status=Task.Status.READY)
    candidates = [Candidate.objects.create(task=task, index=index) for index in range(3)]
    clients = []
    for number in range(5):
        user = make_user(f"annotator{number}")
        Membership.objects.create(user=user, project=project)
        client = Client()
        client.force_login(user)
        clients.append(client)
    steps = random.Random(13)
    completions = reopenings = 0
    was_complete = False
    for _ in range(120):
        client, candidate = steps.choice(clients), steps.choice(candidates)
        value = steps.choice(["up", "down", "up", "withdraw"])
        response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        task.refresh_from_db()
        is_complete = task.status == Task.Status.COMPLETE
        assert is_complete == _full_by_orm(task)
        completions += is_complete and not was_complete
        reopenings += was_complete and not is_complete
        was_complete = is_complete
    assert completions >= 2 and reopenings >= 1, "the sequence must exercise both directions"


def test_a_project_setting_change_counts_at_the_next_vote(project):
    """The overlap is read by the statement, not remembered: lowering it lets the next vote complete the task."""
    project.votes_per_candidate = 3
    project.save()
    task = Task.objects.create(project=project, prompt="p", source=Task.Source.BATCH, status=Task.Status.READY)
    candidate = Candidate.objects.create(task=task, index=0)
    voter = make_user("voter")
    Membership.objects.create(user=voter, project=project)
    client = Client()
    client.force_login(voter)
    client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, HTTP_HX_REQUEST="true")
    assert Task.objects.get(pk=task.pk).status == Task.Status.READY
    Project.objects.filter(pk=project.pk).update(votes_per_candidate=1)
    client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "down"}, HTTP_HX_REQUEST="true")
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE
