"""The rules of judging are stated once each, in three forms: ``Task.judgeable_by`` (one task in hand), its Q
expression (querysets: the queue, answer pairs) and the SQL of labeling/votes.py (the vote's one statement). These
tests hold the three to the same answers over every combination (a paused member included), and the completion
SQL (overlap, and adaptive overlap where judgements disagree) to the queue's ORM form."""

import itertools
import random

import pytest
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling.models import Candidate, Membership, Preference, Project, Task, Vote
from labeling.selectors import with_judgements_missing
from labeling.votes import judging_refusal
from tests.factories import make_user

OWNERS = ["me", "someone else", "nobody"]


def _cases():
    for forbid, source, owner, status, paused in itertools.product(
        [True, False], list(Task.Source), OWNERS, list(Task.Status), [False, True]
    ):
        yield pytest.param(
            forbid, source, owner, status, paused, id=f"forbid={forbid}-{source}-{owner}-{status}-paused={paused}"
        )


@pytest.mark.parametrize(("forbid", "source", "owner", "status", "paused"), list(_cases()))
def test_the_method_the_q_expression_and_the_votes_sql_agree(project, annotator, forbid, source, owner, status, paused):
    project.forbid_self_voting = forbid
    project.save()
    if paused:
        Membership.objects.filter(user=annotator, project=project).update(paused_at=timezone.now())
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
    expected = not own_prompt and not paused and taking_feedback
    assert by_method == by_query == by_candidate_query == by_sql == expected
    refused = 403 if (own_prompt or paused) else 409 if not taking_feedback else 200
    assert response.status_code == refused


def _full_by_hand(task: Task) -> bool:
    """The rule as the README states it, counted in Python: each candidate has the overlap of cast votes, and where
    its votes are split or the task's best picks differ, the most judgements per item."""
    project = task.project
    picks = {(pick.choice, pick.chosen_id) for pick in Preference.objects.filter(task=task)}
    for candidate in Candidate.objects.filter(task=task):
        cast = [vote.value for vote in candidate.votes.all() if vote.value != Vote.Value.WITHDRAWN]
        disputed = len(set(cast)) > 1 or len(picks) > 1
        needed = max(project.votes_per_candidate, project.max_judgements if disputed else 0)
        if len(cast) < project.votes_per_candidate or (disputed and len(cast) < needed):
            return False
    return True


def _full_by_orm(task: Task) -> bool:
    """The queue's own reading (``with_judgements_missing``), held equal to the rule counted by hand."""
    cast = Count("votes", filter=~Q(votes__value=Vote.Value.WITHDRAWN))
    overlap = task.project.votes_per_candidate
    fewest_by_hand = min(Candidate.objects.filter(task=task).annotate(cast=cast).values_list("cast", flat=True))
    by_selector = with_judgements_missing(Task.objects.filter(pk=task.pk), project=task.project).get()
    assert by_selector.fewest_votes == fewest_by_hand
    assert (by_selector.judgements_missing <= 0) == _full_by_hand(task)
    assert by_selector.judgements_missing >= overlap - fewest_by_hand
    return by_selector.judgements_missing <= 0


@pytest.mark.parametrize(
    ("overlap", "max_judgements", "gold"),
    [(2, 2, None), (2, 4, None), (1, 3, None), (2, 4, {"ratings": {"0": "good"}})],
    ids=["no-adaptive-overlap", "adaptive-overlap", "overlap-one", "gold"],
)
def test_completion_and_reopening_follow_the_judgements_through_any_sequence(project, overlap, max_judgements, gold):
    """Random votes, changes, withdrawals and best picks by one annotator more than an item takes: after each,
    the task is complete exactly when the queue's ORM form (and the rule counted by hand) says it is full, in both
    directions."""
    project.votes_per_candidate = overlap
    project.max_judgements = max_judgements
    project.save()
    task = Task.objects.create(
        project=project, prompt="p", source=Task.Source.BATCH, status=Task.Status.READY, gold=gold
    )
    candidates = [Candidate.objects.create(task=task, index=index) for index in range(3)]
    clients = []
    for number in range(max_judgements + 1):
        user = make_user(f"annotator{number}")
        Membership.objects.create(user=user, project=project)
        client = Client()
        client.force_login(user)
        clients.append(client)
    steps = random.Random(13 + max_judgements)
    completions = reopenings = 0
    was_complete = False
    for _ in range(250):
        client, candidate = steps.choice(clients), steps.choice(candidates)
        if steps.random() < 0.15:
            choice = steps.choice(["best", "best", "tie"])
            data = {"choice": choice, "chosen": str(candidate.uid) if choice == "best" else ""}
            response = client.post(reverse("labeling-preference", args=[task.pk]), data, HTTP_HX_REQUEST="true")
        else:
            value = steps.choice(["up", "down", "up", "up", "withdraw", "withdraw"])
            response = client.post(
                reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true"
            )
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
