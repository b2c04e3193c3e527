"""Many annotators at once, through the real views, on PostgreSQL."""

import threading
from collections import Counter

import pytest
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from labeling.models import Membership, Project, ReviewReservation, Task, TaskReservation, Vote
from labeling.votes import task_status_sync, vote_cast
from tests.factories import make_ready_task, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(jobs) -> list:
    """Run each job in its own thread, all released at once; return their results (or exceptions)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the test below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def logged_in_members(project: Project, count: int) -> list[tuple]:
    members = []
    for number in range(count):
        user = make_user(f"annotator{number}")
        Membership.objects.create(user=user, project=project)
        client = Client()
        client.force_login(user)
        members.append((user, client))
    return members


def test_concurrent_votes_count_once_per_annotator_and_complete_the_task_exactly(project):
    annotators = 8
    project.votes_per_candidate = annotators
    project.save()
    task = make_ready_task(project)
    candidates = list(task.candidates.all())
    members = logged_in_members(project, annotators)

    def votes_of(client, value):
        def job():
            # Every candidate twice, as a double click would: the second must not count again.
            return [
                client.post(
                    reverse("labeling-vote", args=[c.uid]), {"value": value}, HTTP_HX_REQUEST="true"
                ).status_code
                for c in candidates + candidates
            ]

        return job

    results = run_together([votes_of(client, "up" if n % 2 else "down") for n, (_, client) in enumerate(members)])
    assert all(statuses == [200] * 8 for statuses in results), results
    per_pair = Counter(Vote.objects.values_list("user_id", "candidate_id"))
    assert len(per_pair) == annotators * len(candidates) and set(per_pair.values()) == {1}
    assert Counter(Vote.objects.values_list("candidate_id", flat=True)) == {c.pk: annotators for c in candidates}
    # Whichever vote came last saw all the others: the task is complete, not left waiting.
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE


def test_when_the_last_votes_arrive_together_the_task_still_completes(project):
    project.votes_per_candidate = 2
    project.max_judgements = 2  # no adaptive overlap: the split 👍/👎 each candidate ends with is full too
    project.save()
    task = make_ready_task(project, candidates=8)
    candidates = list(task.candidates.all())
    early = make_user("early")
    Vote.objects.bulk_create(Vote(user=early, candidate=candidate, value=Vote.Value.UP) for candidate in candidates)
    members = logged_in_members(project, len(candidates))

    def last_vote(client, candidate):
        return lambda: (
            client.post(
                reverse("labeling-vote", args=[candidate.uid]), {"value": "down"}, HTTP_HX_REQUEST="true"
            ).status_code
        )

    for _round in range(6):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.READY)
        Vote.objects.exclude(user=early).delete()
        jobs = [last_vote(client, candidate) for (_, client), candidate in zip(members, candidates, strict=True)]
        assert run_together(jobs) == [200] * len(candidates)
        assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE


def test_concurrent_changes_of_one_vote_leave_one_row_with_one_of_the_values(project, annotator):
    task = make_ready_task(project, candidates=1)
    candidate = task.candidates.get()
    clients = []
    for _ in range(8):
        client = Client()
        client.force_login(annotator)
        clients.append(client)
    values = ["up", "down", "withdraw", "up"] * 2

    def jobs():
        for client, value in zip(clients, values, strict=True):
            yield (
                lambda client=client, value=value: (
                    client.post(
                        reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true"
                    ).status_code
                )
            )

    assert run_together(list(jobs())) == [200] * 8
    assert Vote.objects.count() == 1
    assert Vote.objects.get().value in {Vote.Value.UP, Vote.Value.DOWN, Vote.Value.WITHDRAWN}


def test_annotators_pressing_next_together_never_share_a_slot(project):
    project.votes_per_candidate = 2
    project.save()
    tasks = [make_ready_task(project, prompt=f"prompt {number}", candidates=1) for number in range(3)]
    members = logged_in_members(project, 8)

    def press_next(client):
        return lambda: client.post(reverse("labeling-task-next", args=[project.slug]))["Location"]

    locations = run_together([press_next(client) for _, client in members])
    assert not [result for result in locations if isinstance(result, Exception)], locations
    handed_out = Counter(locations)
    # 3 tasks × overlap 2 = 6 slots for 8 annotators; the other 2 are told nothing is waiting.
    assert handed_out == {task.get_absolute_url(): 2 for task in tasks} | {project.get_absolute_url(): 2}
    assert Counter(TaskReservation.objects.values_list("task_id", flat=True)) == {task.pk: 2 for task in tasks}


def test_reviewers_pressing_next_together_never_share_a_slot(text_project):
    text_project.reviews_per_answer = 2
    text_project.gold_share = 0
    text_project.save()
    answers = []
    for number in range(3):
        task = Task.objects.create(project=text_project, prompt=f"question {number}", source="batch", status="ready")
        answers.append(task.candidates.create(index=0, text="an answer", review_state="needs_review"))
    reviewers = []
    for number in range(8):
        user = make_user(f"reviewer{number}")
        Membership.objects.create(user=user, project=text_project, role=Membership.Role.REVIEWER)
        client = Client()
        client.force_login(user)
        reviewers.append(client)

    def press_next(client):
        return lambda: client.get(reverse("labeling-review-next", args=[text_project.slug]))

    responses = run_together([press_next(client) for client in reviewers])
    assert not [result for result in responses if isinstance(result, Exception)], responses
    handed_out = Counter(response.get("Location") for response in responses)
    # 3 answers × 2 reviews = 6 slots for 8 reviewers; the other 2 see the empty queue.
    expected = {reverse("labeling-review-answer", args=[answer.uid]): 2 for answer in answers} | {None: 2}
    assert handed_out == expected
    assert Counter(ReviewReservation.objects.values_list("candidate_id", flat=True)) == {a.pk: 2 for a in answers}


def test_a_sync_that_began_before_a_vote_filled_the_task_cannot_reopen_it(project):
    """A withdrawal leaves its task one vote short; its status sync reopens the task, and before that sync commits,
    another vote fills the task again. The vote waits for the sync (both take the task's counts locked), then its own
    sync sees the reopened task full and completes it: the task ends complete, as its votes say."""
    project.votes_per_candidate = 1
    project.save()
    task = make_ready_task(project, candidates=1)
    candidate = task.candidates.get()
    first, second = make_user("first"), make_user("second")
    for user in (first, second):
        Membership.objects.create(user=user, project=project)
    vote_cast(user=first, candidate_uid=candidate.uid, value="up")
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE
    # The withdrawal's statement has run; its sync has not yet.
    Vote.objects.filter(user=first, candidate=candidate).update(value=Vote.Value.WITHDRAWN)

    synced, commit = threading.Event(), threading.Event()

    def withdrawal_sync():
        try:
            with transaction.atomic():
                task_status_sync(task_id=task.pk)
                synced.set()
                commit.wait(timeout=30)
        finally:
            connections.close_all()

    def filling_vote():
        try:
            vote_cast(user=second, candidate_uid=candidate.uid, value="down")
        finally:
            connections.close_all()

    syncing = threading.Thread(target=withdrawal_sync)
    syncing.start()
    assert synced.wait(timeout=30)
    voting = threading.Thread(target=filling_vote)
    voting.start()
    voting.join(timeout=2)  # without the lock, the vote and its sync are done by now, before the reopening commits
    commit.set()
    syncing.join(timeout=30)
    voting.join(timeout=30)
    assert not syncing.is_alive() and not voting.is_alive()
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE


def test_a_sync_with_nothing_to_change_locks_and_writes_nothing(project):
    """Most votes change no status: their sync takes no lock, so it needs no transaction id and its commit waits for
    no disk; a sync that changes the status does take the lock."""
    task = make_ready_task(project, candidates=2)

    def transaction_id_after_sync():
        with transaction.atomic(), connections["default"].cursor() as cursor:
            task_status_sync(task_id=task.pk)
            cursor.execute("SELECT pg_current_xact_id_if_assigned()")
            return cursor.fetchone()[0]

    assert transaction_id_after_sync() is None
    Task.objects.filter(pk=task.pk).update(status=Task.Status.COMPLETE)  # complete without a vote: to be reopened
    assert transaction_id_after_sync() is not None
    assert Task.objects.get(pk=task.pk).status == Task.Status.READY
