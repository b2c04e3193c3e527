"""Adaptive overlap: an item whose judgements disagree (split 👍/👎, different best picks, reviewers' decisions that
differ) goes back to the queue for one more judgement at a time, up to the project's most judgements per item."""

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import Candidate, Membership, Task
from tests.factories import make_ready_task, member


def annotator_client(project, name: str) -> Client:
    client = Client()
    client.force_login(member(project, name))
    return client


def press_next(client: Client, project) -> str:
    return client.post(reverse("labeling-task-next", args=[project.slug]))["Location"]


def judge(client: Client, task: Task, values: list[str], *, pick: str = "") -> None:
    """Judge every candidate of the task over HTTP, as the page's buttons do; optionally pick the best."""
    for candidate, value in zip(task.candidates.order_by("index"), values, strict=True):
        response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    if pick:
        chosen = task.candidates.get(index=int(pick)).uid if pick.isdigit() else ""
        choice = "best" if pick.isdigit() else pick
        response = client.post(
            reverse("labeling-preference", args=[task.pk]), {"choice": choice, "chosen": chosen}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200


@pytest.fixture
def overlap_three(project):
    project.votes_per_candidate = 3
    project.max_judgements = 5
    project.save()
    return project


def test_a_split_task_goes_to_a_fourth_annotator_and_an_agreed_one_does_not(overlap_three):
    project = overlap_three
    disputed = make_ready_task(project, prompt="disputed", candidates=2)
    agreed = make_ready_task(project, prompt="agreed", candidates=2)
    for number, second_value in enumerate(["up", "up", "down"]):
        client = annotator_client(project, f"judge{number}")
        assert press_next(client, project) == disputed.get_absolute_url()
        judge(client, disputed, ["up", second_value])
        assert press_next(client, project) == agreed.get_absolute_url()
        judge(client, agreed, ["up", "down"])
    assert Task.objects.get(pk=agreed.pk).status == Task.Status.COMPLETE
    assert Task.objects.get(pk=disputed.pk).status == Task.Status.READY

    fourth = annotator_client(project, "fourth")
    assert press_next(fourth, project) == disputed.get_absolute_url()
    judge(fourth, disputed, ["up", "up"])
    assert press_next(fourth, project) == project.get_absolute_url(), "the agreed task is not handed out again"


def test_a_disputed_item_takes_one_more_judgement_at_a_time_up_to_the_maximum(overlap_three):
    project = overlap_three
    task = make_ready_task(project, candidates=1)
    clients = [annotator_client(project, f"judge{number}") for number in range(6)]
    for client, value in zip(clients[:3], ["up", "down", "up"], strict=True):
        press_next(client, project)
        judge(client, task, [value])
    # One extra slot at a time: the fourth annotator holds it, so a fifth gets nothing meanwhile.
    assert press_next(clients[3], project) == task.get_absolute_url()
    assert press_next(clients[4], project) == project.get_absolute_url()
    judge(clients[3], task, ["up"])
    assert Task.objects.get(pk=task.pk).status == Task.Status.READY, "still split: 3 👍, 1 👎"
    assert press_next(clients[4], project) == task.get_absolute_url()
    judge(clients[4], task, ["up"])
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE, "five judgements: the most it takes"
    assert press_next(clients[5], project) == project.get_absolute_url()


def test_no_extra_judgements_when_the_maximum_is_at_or_below_the_overlap(project):
    project.votes_per_candidate = 2
    project.max_judgements = 2
    project.save()
    task = make_ready_task(project, candidates=1)
    for number, value in enumerate(["up", "down"]):
        client = annotator_client(project, f"judge{number}")
        press_next(client, project)
        judge(client, task, [value])
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE
    assert press_next(annotator_client(project, "third"), project) == project.get_absolute_url()


def test_withdrawing_the_odd_vote_out_ends_the_dispute(overlap_three):
    project = overlap_three
    task = make_ready_task(project, candidates=1)
    clients = [annotator_client(project, f"judge{number}") for number in range(4)]
    for client, value in zip(clients, ["up", "up", "up", "down"], strict=True):
        judge(client, task, [value])
    assert Task.objects.get(pk=task.pk).status == Task.Status.READY
    judge(clients[3], task, ["withdraw"])
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE


def test_different_best_picks_send_a_task_back_and_a_late_disagreement_reopens_it(project):
    project.votes_per_candidate = 2
    project.max_judgements = 3
    project.save()
    task = make_ready_task(project, candidates=2)
    first, second = annotator_client(project, "first"), annotator_client(project, "second")
    judge(first, task, ["up", "down"], pick="0")
    judge(second, task, ["up", "down"], pick="0")
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE
    judge(second, task, ["up", "down"], pick="tie")
    assert Task.objects.get(pk=task.pk).status == Task.Status.READY, "the picks now differ"
    third = annotator_client(project, "third")
    assert press_next(third, project) == task.get_absolute_url()
    judge(third, task, ["up", "down"], pick="0")
    assert Task.objects.get(pk=task.pk).status == Task.Status.COMPLETE, "three judgements: the most it takes"


@pytest.fixture
def two_reviews(text_project):
    text_project.reviews_per_answer = 2
    text_project.max_judgements = 3
    text_project.save()
    return text_project


def review(client: Client, answer: Candidate, decision: str) -> None:
    assert client.get(reverse("labeling-review-next", args=[answer.task.project.slug]))["Location"] == reverse(
        "labeling-review-answer", args=[answer.uid]
    )
    data = {"decision": decision, "corrected_text": "A better answer." if decision == "correct" else ""}
    assert client.post(reverse("labeling-review-save", args=[answer.uid]), data).status_code == 302


def reviewer_client(project, name: str) -> Client:
    client = Client()
    client.force_login(member(project, name, role=Membership.Role.REVIEWER))
    return client


def test_reviewers_who_differ_send_the_answer_to_one_more_reviewer(two_reviews, flagged):
    answer = flagged()
    review(reviewer_client(two_reviews, "first"), answer, "accept")
    review(reviewer_client(two_reviews, "second"), answer, "reject")
    answer.refresh_from_db()
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    review(reviewer_client(two_reviews, "third"), answer, "accept")
    answer.refresh_from_db()
    assert answer.review_state == Candidate.ReviewState.REVIEWED, "three reviews: the most it takes"
    fourth = reviewer_client(two_reviews, "fourth")
    assert fourth.get(reverse("labeling-review-next", args=[two_reviews.slug])).status_code == 200


def test_reviewers_who_agree_finish_the_answer_at_its_reviews_per_answer(two_reviews, flagged):
    answer = flagged()
    review(reviewer_client(two_reviews, "first"), answer, "reject")
    review(reviewer_client(two_reviews, "second"), answer, "reject")
    answer.refresh_from_db()
    assert answer.review_state == Candidate.ReviewState.REVIEWED
