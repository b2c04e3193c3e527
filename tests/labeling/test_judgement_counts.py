"""The judgement counts the database keeps (TaskJudgementCounts, CandidateVoteCounts) stay equal to the votes and
picks themselves, counted by hand, through every way a judgement is written, changed or removed, and under
concurrent votes on PostgreSQL."""

import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from labeling.models import Candidate, CandidateVoteCounts, Preference, Task, TaskJudgementCounts, Vote
from tests.factories import make_ready_task
from tests.labeling.test_concurrency import logged_in_members, run_together


def counted_by_hand(task: Task) -> tuple[int, int | None, bool]:
    """(fewest cast votes of a candidate, fewest among split candidates, picks differ), from the rows themselves."""
    casts = []
    for candidate in Candidate.objects.filter(task=task):
        values = [vote.value for vote in candidate.votes.all() if vote.value != Vote.Value.WITHDRAWN]
        casts.append((len(values), len(set(values)) > 1))
    picks = {(pick.choice, pick.chosen_id) for pick in Preference.objects.filter(task=task)}
    return (
        min((cast for cast, _ in casts), default=0),
        min((cast for cast, split in casts if split), default=None),
        len(picks) > 1,
    )


def assert_counts_exact(task: Task) -> None:
    kept = TaskJudgementCounts.objects.get(task=task)
    assert (kept.fewest_votes, kept.fewest_split_votes, kept.picks_differ) == counted_by_hand(task)
    for candidate in Candidate.objects.filter(task=task):
        counts = CandidateVoteCounts.objects.get(candidate=candidate)
        assert counts.task_id == task.pk
        assert counts.up_votes == candidate.votes.filter(value=Vote.Value.UP).count()
        assert counts.down_votes == candidate.votes.filter(value=Vote.Value.DOWN).count()


def vote(client: Client, candidate: Candidate, value: str) -> None:
    response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content


def pick(client: Client, task: Task, choice: str, chosen: Candidate | None = None) -> None:
    data = {"choice": choice} | ({"chosen": str(chosen.uid)} if chosen else {})
    response = client.post(reverse("labeling-preference", args=[task.pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_a_new_task_and_its_candidates_start_with_nothing_counted(project):
    task = Task.objects.create(project=project, prompt="p", source=Task.Source.BATCH)
    assert_counts_exact(task)
    assert TaskJudgementCounts.objects.get(task=task).fewest_votes == 0
    Candidate.objects.create(task=task, index=0)
    assert CandidateVoteCounts.objects.filter(task=task).count() == 1
    assert_counts_exact(task)


@pytest.mark.django_db
def test_votes_changes_withdrawals_picks_and_deletions_keep_the_counts_exact(project):
    project.votes_per_candidate = 3
    project.save()
    task = make_ready_task(project, candidates=3)
    first, second, third = task.candidates.all()
    members = logged_in_members(project, 3)
    (_, ann), (bob_user, bob), (_, cat) = members

    steps = [
        lambda: vote(ann, first, "up"),
        lambda: vote(bob, first, "down"),  # first is split now
        lambda: vote(ann, first, "up"),  # the same again changes nothing
        lambda: vote(ann, second, "up"),
        lambda: vote(ann, third, "up"),
        lambda: vote(bob, second, "up"),
        lambda: vote(bob, third, "up"),  # every candidate has two now
        lambda: vote(bob, first, "up"),  # first agrees again
        lambda: vote(cat, first, "down"),
        lambda: vote(cat, first, "withdraw"),
        lambda: pick(ann, task, "best", second),
        lambda: pick(bob, task, "best", second),
        lambda: pick(cat, task, "tie"),  # the picks differ now
        lambda: pick(cat, task, "best", second),  # and agree again
        lambda: Preference.objects.filter(user=bob_user).delete(),
        lambda: Candidate.objects.create(task=task, index=3),  # a candidate without votes: fewest is 0
        lambda: bob_user.delete(),  # the person's votes and picks go with them
    ]
    for step in steps:
        step()
        assert_counts_exact(task)


@pytest.mark.django_db
def test_deleting_a_task_takes_its_counts_with_it(project, annotator):
    task = make_ready_task(project, candidates=2)
    Vote.objects.create(user=annotator, candidate=task.candidates.first(), value=Vote.Value.UP)
    task.delete()
    assert not TaskJudgementCounts.objects.exists() and not CandidateVoteCounts.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_picks_and_withdrawals_keep_the_counts_exact(project):
    """Annotators vote on different candidates of one task at once: a recount that read another candidate's counts
    before a concurrent vote committed would leave the task's counts stale."""
    project.votes_per_candidate = 6
    project.max_judgements = 8
    project.save()
    task = make_ready_task(project, candidates=4)
    candidates = list(task.candidates.all())
    members = logged_in_members(project, 8)
    chance = random.Random(17)

    def judge(client, plan):
        def job():
            for candidate, value in plan:
                if candidate is None:
                    pick(client, task, value)
                else:
                    vote(client, candidate, value)

        return job

    for _round in range(4):
        jobs = []
        for _, client in members:
            plan = [
                (candidate, chance.choice(["up", "down", "withdraw"])) for candidate in chance.sample(candidates, 4)
            ]
            plan.insert(chance.randrange(5), (None, chance.choice(["tie", "all_bad"])))
            jobs.append(judge(client, plan))
        assert run_together(jobs) == [None] * len(jobs)
        assert_counts_exact(task)


@pytest.mark.django_db
def test_recount_judgements_puts_back_counts_that_went_wrong(project, annotator):
    task = make_ready_task(project, candidates=2)
    first, second = task.candidates.all()
    Vote.objects.create(user=annotator, candidate=first, value=Vote.Value.UP)
    Vote.objects.create(user=annotator, candidate=second, value=Vote.Value.DOWN)
    Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.TIE)
    # As after a restore with the triggers off: counts of nothing, and a task with none at all.
    CandidateVoteCounts.objects.update(up_votes=0, down_votes=0)
    TaskJudgementCounts.objects.filter(task=task).delete()
    output = StringIO()
    call_command("recount_judgements", stdout=output)
    assert_counts_exact(task)
    assert TaskJudgementCounts.objects.get(task=task).fewest_votes == 1
    assert "Counted the judgements of 1 tasks again." in output.getvalue()
