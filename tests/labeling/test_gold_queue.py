"""The queue mixes gold tasks in at the project's share, never twice to one person, and nothing on a page, in its
URLs or in its requests tells a gold task from another; gold judgements are stored like any others."""

import math
import re

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import Candidate, Membership, Review, ReviewQueueCounts, Task, Vote
from labeling.selectors import gold_due
from tests.factories import make_ready_task, make_text_task, member

GOLD = {"ratings": {"0": "good"}}


def annotator_client(project, name: str) -> tuple[Client, object]:
    user = member(project, name)
    client = Client()
    client.force_login(user)
    return client, user


def press_next(client: Client, project) -> str:
    return client.post(reverse("labeling-task-next", args=[project.slug]))["Location"]


def task_at(location: str) -> Task | None:
    match = re.fullmatch(r"/tasks/(\d+)/", location)
    return Task.objects.get(pk=int(match.group(1))) if match else None


def judge_all(client: Client, task: Task, value: str = "up") -> None:
    for candidate in task.candidates.all():
        response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5, 1.0])
def test_the_gold_schedule_keeps_each_persons_gold_at_the_share_within_one(share):
    for person in range(20):
        gold = 0
        for handed in range(400):
            gold += gold_due(judged=handed, gold_judged=gold, share=share, seed=f"1:{person}")
            assert math.floor((handed + 1) * share) <= gold <= math.floor((handed + 1) * share) + 1


def test_the_gold_schedule_differs_between_people_and_never_gives_gold_at_a_share_of_zero():
    def positions(seed: str) -> list[int]:
        gold, found = 0, []
        for handed in range(200):
            if gold_due(judged=handed, gold_judged=gold, share=0.1, seed=seed):
                gold += 1
                found.append(handed)
        return found

    assert len({tuple(positions(f"1:{person}")) for person in range(10)}) > 1
    assert not any(gold_due(judged=handed, gold_judged=0, share=0.0, seed="1:1") for handed in range(100))


def test_next_mixes_gold_in_at_the_projects_share(project):
    project.gold_share = 0.25
    project.save()
    for number in range(40):
        make_ready_task(project, prompt=f"ordinary {number}", candidates=1)
    gold_tasks = {make_ready_task(project, prompt=f"gold {number}", candidates=1, gold=GOLD).pk for number in range(15)}
    client, _user = annotator_client(project, "annie")
    handed = []
    for _ in range(40):
        task = task_at(press_next(client, project))
        judge_all(client, task)
        handed.append(task.pk)
    gold_handed = sum(pk in gold_tasks for pk in handed)
    assert math.floor(40 * 0.25) <= gold_handed <= math.floor(40 * 0.25) + 1
    assert len(set(handed)) == 40, "nothing is handed out twice"


def test_a_gold_task_goes_to_everyone_once_and_stays_as_complete_as_any_task(project):
    project.gold_share = 1.0
    project.save()
    gold = make_ready_task(project, candidates=2, gold=GOLD)
    for number in range(3):
        client, user = annotator_client(project, f"judge{number}")
        assert press_next(client, project) == gold.get_absolute_url()
        page = client.get(gold.get_absolute_url()).content.decode()
        assert 'class="badge status-ready" id="task-status"' in page, "handed out, it shows as open as any task"
        judge_all(client, gold, "down")
        assert press_next(client, project) == project.get_absolute_url(), "never twice to the same person"
        assert Vote.objects.filter(user=user, candidate__task=gold).count() == 2, "stored as any vote is"
        page = client.get(gold.get_absolute_url()).content.decode()
        assert 'class="badge status-complete" id="task-status"' in page, "judged, its own status shows"
    assert Task.objects.get(pk=gold.pk).status == Task.Status.COMPLETE, "its status follows the ordinary rule"


def test_with_nothing_else_left_the_queue_hands_out_gold_and_with_a_share_of_zero_it_still_does_last(project):
    project.gold_share = 0.0
    project.save()
    ordinary = make_ready_task(project, prompt="ordinary", candidates=1)
    gold = make_ready_task(project, prompt="gold", candidates=1, gold=GOLD)
    client, _user = annotator_client(project, "annie")
    assert press_next(client, project) == ordinary.get_absolute_url()
    judge_all(client, ordinary)
    assert press_next(client, project) == gold.get_absolute_url()


def strip_ids(html: str, task: Task) -> str:
    """The page without what differs between any two renderings or tasks: tokens, ids, uids, the prompt."""
    html = re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html.replace(task.prompt, "PROMPT"))
    for candidate in task.candidates.all():
        html = html.replace(str(candidate.uid), "UID")
    return html.replace(str(task.pk), "N")


def test_a_gold_task_page_its_urls_and_its_vote_answers_match_an_ordinary_tasks(project):
    project.gold_share = 0.5
    project.save()
    # Ids no other number on the page shares, so that taking them out takes out nothing else.
    ordinary = make_ready_task(project, prompt="a heron", candidates=2, pk=7001)
    gold = make_ready_task(project, prompt="a crane", candidates=2, gold={"ratings": {"0": "good"}, "best": 1}, pk=7002)
    client, _user = annotator_client(project, "annie")
    pages = {
        task.pk: strip_ids(client.get(task.get_absolute_url()).content.decode(), task) for task in (ordinary, gold)
    }
    votes = {}
    for task in (ordinary, gold):
        candidate = task.candidates.get(index=0)
        response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, HTTP_HX_REQUEST="true")
        votes[task.pk] = (response.status_code, sorted(response.headers), strip_ids(response.content.decode(), task))
    assert "gold" not in pages[gold.pk].lower()
    assert pages[gold.pk] == pages[ordinary.pk]
    assert votes[gold.pk] == votes[ordinary.pk]


@pytest.fixture
def gold_answer(text_project):
    task = make_text_task(text_project, "Capital of Australia?", ["Sydney."], confidence=0.4)
    task.gold = {"decisions": {"0": {"decision": "correct", "text": "Canberra."}}}
    task.save()
    answer = task.candidates.get()
    answer.review_state = Candidate.ReviewState.NEEDS_REVIEW
    answer.review_reason = "random audit"
    answer.save()
    return answer


def test_reviewers_each_get_a_gold_answer_once_and_its_reviews_are_stored_like_any(text_project, gold_answer):
    text_project.gold_share = 1.0
    text_project.save()
    for number in range(3):
        client = Client()
        reviewer = member(text_project, f"reviewer{number}", role=Membership.Role.REVIEWER)
        client.force_login(reviewer)
        panel = client.get(text_project.get_absolute_url()).content.decode()
        assert "1 answer waits for review." in panel, "reviewed by others or not, it waits for this reviewer"
        next_url = reverse("labeling-review-next", args=[text_project.slug])
        assert client.get(next_url)["Location"] == reverse("labeling-review-answer", args=[gold_answer.uid])
        page = client.get(reverse("labeling-review-answer", args=[gold_answer.uid])).content.decode()
        assert "gold" not in page.lower() and 'id="review-form"' in page
        data = {"decision": "correct", "corrected_text": "Canberra."}
        assert client.post(reverse("labeling-review-save", args=[gold_answer.uid]), data).status_code == 302
        assert client.get(next_url).status_code == 200, "never twice to the same reviewer"
        panel = client.get(text_project.get_absolute_url()).content.decode()
        assert "0 answers wait for review." in panel, "a gold answer waits for no one who reviewed it"
    assert Review.objects.filter(candidate=gold_answer, decision="correct").count() == 3
    gold_answer.refresh_from_db()
    assert gold_answer.review_state == Candidate.ReviewState.REVIEWED, "its state follows the ordinary rule"


def test_the_review_queue_mixes_gold_answers_in_at_the_share(text_project, flagged):
    text_project.gold_share = 0.25
    text_project.save()
    gold_ids = set()
    for number in range(8):
        answer = flagged(f"Maybe answer {number}.")
        answer.task.gold = {"decisions": {"0": "accept"}}
        answer.task.save()
        gold_ids.add(answer.pk)
    for number in range(24):
        flagged(f"Maybe ordinary {number}.")
    client = Client()
    client.force_login(member(text_project, "ravi", role=Membership.Role.REVIEWER))
    reviewed = []
    for _ in range(24):
        location = client.get(reverse("labeling-review-next", args=[text_project.slug]))["Location"]
        answer = Candidate.objects.get(uid=location.rstrip("/").rsplit("/", 1)[1])
        client.post(reverse("labeling-review-save", args=[answer.uid]), {"decision": "reject"})
        reviewed.append(answer.pk)
    gold_reviewed = sum(pk in gold_ids for pk in reviewed)
    assert math.floor(24 * 0.25) <= gold_reviewed <= math.floor(24 * 0.25) + 1
    assert len(set(reviewed)) == 24


def test_the_review_queues_gold_schedule_counts_hand_outs_not_the_reviewers_history(text_project, flagged):
    text_project.gold_share = 0.5
    text_project.save()
    gold = flagged("Maybe gold.")
    gold.task.gold = {"decisions": {"0": "accept"}}
    gold.task.save()
    ordinary = flagged("Maybe ordinary.")
    reviewer = member(text_project, "ravi", role=Membership.Role.REVIEWER)
    # Reviews made outside the queue (an import, the API) leave the schedule where the queue left it.
    Review.objects.bulk_create(
        Review(reviewer=reviewer, candidate=flagged(f"Old {n}."), decision="accept", original_text="x")
        for n in range(6)
    )
    client = Client()
    client.force_login(reviewer)
    next_url = reverse("labeling-review-next", args=[text_project.slug])
    first = client.get(next_url)["Location"]
    assert client.get(next_url)["Location"] == first, "the answer held is handed back, not handed out again"
    counts = ReviewQueueCounts.objects.get(user=reviewer, project=text_project)
    handed_gold = first == reverse("labeling-review-answer", args=[gold.uid])
    assert (counts.handed_out, counts.gold_handed_out) == (1, int(handed_gold))
    assert gold_due(judged=0, gold_judged=0, share=0.5, seed=f"review:{text_project.pk}:{reviewer.pk}") == handed_gold
    assert first in {reverse("labeling-review-answer", args=[answer.uid]) for answer in (gold, ordinary)}
