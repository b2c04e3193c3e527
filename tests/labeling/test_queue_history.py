""" "Next task" does not walk an annotator's history: the QueueMarker passes each finished task once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labeling.models import Candidate, Membership, Preference, QueueMarker, Review, Task, TaskReservation, Vote
from labeling.tasks import count_projects
from labeling.templatetags import review_tags
from labeling.votes import vote_cast
from tests.factories import make_text_task, member


def ready_tasks(project, count: int, *, candidates: int = 2, **fields) -> list[Task]:
    fields = {"source": Task.Source.BATCH, "status": Task.Status.READY, **fields}
    tasks = Task.objects.bulk_create(Task(project=project, prompt=f"prompt {n}", **fields) for n in range(count))
    Candidate.objects.bulk_create(Candidate(task=task, index=i) for task in tasks for i in range(candidates))
    return sorted(tasks, key=lambda task: (task.queued_at, task.pk))


def finish(user, tasks) -> None:
    Vote.objects.bulk_create(
        Vote(user=user, candidate=candidate, value=Vote.Value.UP)
        for candidate in Candidate.objects.filter(task__in=tasks)
    )


def press_next(client, project):
    return client.post(reverse("labeling-task-next", args=[project.slug]))


@pytest.fixture
def wide_project(project):
    """Room for many annotators per task, so finished tasks stay open to others; no gold, so that everyone is
    handed the same kind of task."""
    project.votes_per_candidate = 5
    project.gold_share = 0
    project.save()
    return project


def test_next_costs_the_same_queries_with_or_without_finished_tasks_behind(client, wide_project):
    tasks = ready_tasks(wide_project, 40)
    newcomer, veteran = member(wide_project, "newcomer"), member(wide_project, "veteran")
    finish(veteran, tasks[:30])

    counted = []
    for user in (newcomer, veteran):
        client.force_login(user)
        press_next(client, wide_project)  # the first press moves the veteran's marker past their thirty
        TaskReservation.objects.filter(user=user).delete()
        with CaptureQueriesContext(connection) as queries:
            response = press_next(client, wide_project)
        counted.append(len(queries))
        assert response.status_code == 302
    assert counted[0] == counted[1]
    assert response["Location"] == tasks[30].get_absolute_url()


def test_the_marker_stops_before_the_first_task_the_annotator_has_not_finished(client, wide_project):
    tasks = ready_tasks(wide_project, 10)
    annotator = member(wide_project, "annotator")
    finish(annotator, tasks[:4] + tasks[5:8])
    client.force_login(annotator)

    assert press_next(client, wide_project)["Location"] == tasks[4].get_absolute_url()
    marker = QueueMarker.objects.get(user=annotator, project=wide_project)
    assert (marker.queued_at, marker.task_id) == (tasks[3].queued_at, tasks[3].pk)


def test_tasks_of_the_annotators_own_prompts_are_passed(client, wide_project):
    annotator = member(wide_project, "annotator")
    own = ready_tasks(wide_project, 3, source=Task.Source.TYPED, created_by=annotator)
    others = ready_tasks(wide_project, 1)
    client.force_login(annotator)
    assert press_next(client, wide_project)["Location"] == others[0].get_absolute_url()
    assert QueueMarker.objects.get(user=annotator).task_id == own[-1].pk


def test_a_task_reopened_by_a_withdrawal_comes_back_to_an_annotator_already_past_it(client, project):
    project.votes_per_candidate = 1
    project.save()
    first, later = ready_tasks(project, 2)
    early_bird, annotator = member(project, "early"), member(project, "annotator")
    for candidate in first.candidates.all():
        vote_cast(user=early_bird, candidate_uid=candidate.uid, value="up")
    first.refresh_from_db()
    assert first.status == Task.Status.COMPLETE
    finish(annotator, [later])
    client.force_login(annotator)
    assert press_next(client, project)["Location"] == reverse("labeling-project", args=[project.slug])
    assert QueueMarker.objects.get(user=annotator).task_id == later.pk

    vote_cast(user=early_bird, candidate_uid=first.candidates.first().uid, value="withdraw")
    assert press_next(client, project)["Location"] == first.get_absolute_url()


def test_an_old_task_that_becomes_ready_late_still_reaches_an_annotator_past_its_age(client, wide_project):
    late = Task.objects.create(project=wide_project, prompt="generating", source=Task.Source.BATCH)
    Candidate.objects.bulk_create(Candidate(task=late, index=i) for i in range(2))
    done = ready_tasks(wide_project, 3)
    annotator = member(wide_project, "annotator")
    finish(annotator, done)
    client.force_login(annotator)
    press_next(client, wide_project)
    assert QueueMarker.objects.get(user=annotator).task_id == done[-1].pk

    # As generation leaves it (generation/jobs.py): ready, and in the queue from now.
    Task.objects.filter(pk=late.pk).update(status=Task.Status.READY, queued_at=timezone.now())
    assert press_next(client, wide_project)["Location"] == late.get_absolute_url()


def test_my_progress_counts_only_what_is_left_after_the_marker(client, wide_project):
    tasks = ready_tasks(wide_project, 12)
    annotator = member(wide_project, "annotator")
    finish(annotator, tasks[:9])
    client.force_login(annotator)
    press_next(client, wide_project)
    page = client.get(reverse("labeling-project", args=[wide_project.slug])).content.decode()
    assert '<dd id="tasks-left">3</dd>' in page


def test_my_progress_adds_the_votes_made_since_the_background_count_to_it(client, wide_project):
    tasks = ready_tasks(wide_project, 6)
    annotator = member(wide_project, "annotator")
    finish(annotator, tasks[:2])
    withdrawn = Vote.objects.filter(user=annotator).first()
    count_projects.apply()
    finish(annotator, tasks[2:3])
    vote_cast(user=annotator, candidate_uid=withdrawn.candidate.uid, value="withdraw")
    client.force_login(annotator)

    page = client.get(reverse("labeling-project", args=[wide_project.slug])).content.decode()
    # 4 counted in the background (the withdrawal shows in the total from the next count on) and 2 since.
    assert '<dd id="votes-total">6</dd>' in page and '<dd id="votes-today">5</dd>' in page
    count_projects.apply()
    page = client.get(reverse("labeling-project", args=[wide_project.slug])).content.decode()
    assert '<dd id="votes-total">5</dd>' in page and '<dd id="votes-today">5</dd>' in page


def test_my_progress_reads_the_same_queries_with_or_without_a_history(client, wide_project):
    tasks = ready_tasks(wide_project, 30)
    newcomer, veteran = member(wide_project, "newcomer"), member(wide_project, "veteran")
    finish(veteran, tasks[:25])
    count_projects.apply()
    counted = []
    for user in (newcomer, veteran):
        client.force_login(user)
        press_next(client, wide_project)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("labeling-project", args=[wide_project.slug])).status_code == 200
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_the_review_panel_stops_counting_open_answers_at_its_limit(client, text_project, monkeypatch):
    monkeypatch.setattr(review_tags, "OPEN_SHOWN_AT_MOST", 2)
    reviewer = member(text_project, "rita", role=Membership.Role.REVIEWER)
    for number in range(3):
        make_text_task(text_project, f"question {number}", ["an answer"])
    Candidate.objects.update(review_state=Candidate.ReviewState.NEEDS_REVIEW)
    other = member(text_project, "other", role=Membership.Role.REVIEWER)
    Review.objects.create(
        reviewer=other, candidate=Candidate.objects.first(), decision=Review.Decision.ACCEPT, original_text="x"
    )
    text_project.reviews_per_answer = 2
    text_project.save()
    client.force_login(reviewer)
    page = client.get(reverse("labeling-project", args=[text_project.slug])).content.decode()
    assert "3 answers wait for review (2+ open to you)" in page

    Review.objects.create(
        reviewer=reviewer, candidate=Candidate.objects.last(), decision=Review.Decision.ACCEPT, original_text="x"
    )
    page = client.get(reverse("labeling-project", args=[text_project.slug])).content.decode()
    assert "3 answers wait for review (2 open to you)" in page


def test_the_task_page_reads_the_same_queries_with_or_without_a_history(client, wide_project):
    tasks = ready_tasks(wide_project, 25)
    newcomer, veteran = member(wide_project, "newcomer"), member(wide_project, "veteran")
    finish(veteran, tasks[:20])
    counted = []
    for user in (newcomer, veteran):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(tasks[22].get_absolute_url()).status_code == 200
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_review_next_reads_the_same_queries_with_or_without_reviews_behind(client, text_project):
    text_project.reviews_per_answer = 2
    # Whether gold is due is drawn from the project's and the reviewer's ids, which the tests before this one
    # decide: with none, every press reads the ordinary part first, whoever presses.
    text_project.gold_share = 0
    text_project.save()
    for number in range(12):
        make_text_task(text_project, f"question {number}", ["an answer"])
    Candidate.objects.update(review_state=Candidate.ReviewState.NEEDS_REVIEW)
    newcomer = member(text_project, "newcomer", role=Membership.Role.REVIEWER)
    veteran = member(text_project, "veteran", role=Membership.Role.REVIEWER)
    Review.objects.bulk_create(
        Review(reviewer=veteran, candidate=answer, decision=Review.Decision.ACCEPT, original_text=answer.text)
        for answer in Candidate.objects.order_by("pk")[:10]
    )
    counted = []
    for user in (newcomer, veteran):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("labeling-review-next", args=[text_project.slug])).status_code == 302
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_review_next_reads_the_same_queries_after_many_reviews_through_the_queue(client, text_project):
    text_project.gold_share = 0  # every press reads the ordinary part first, whoever presses
    text_project.save()
    for number in range(30):
        make_text_task(text_project, f"question {number}", ["an answer"])
    Candidate.objects.update(review_state=Candidate.ReviewState.NEEDS_REVIEW)
    next_url = reverse("labeling-review-next", args=[text_project.slug])
    newcomer = member(text_project, "newcomer", role=Membership.Role.REVIEWER)
    veteran = member(text_project, "veteran", role=Membership.Role.REVIEWER)
    for reviewer, presses in ((newcomer, 1), (veteran, 20)):
        client.force_login(reviewer)
        for _ in range(presses):
            uid = client.get(next_url)["Location"].rstrip("/").rsplit("/", 1)[1]
            assert client.post(reverse("labeling-review-save", args=[uid]), {"decision": "accept"}).status_code == 302
    assert Review.objects.filter(reviewer=veteran).count() == 20

    counted = []
    for reviewer in (newcomer, veteran):
        client.force_login(reviewer)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(next_url).status_code == 302
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_a_paused_annotators_presses_keep_their_place_for_their_return(client, wide_project):
    tasks = ready_tasks(wide_project, 3)
    annotator = member(wide_project, "annie")
    client.force_login(annotator)
    Membership.objects.filter(user=annotator).update(paused_at=timezone.now())
    assert press_next(client, wide_project).url == wide_project.get_absolute_url()
    Membership.objects.filter(user=annotator).update(paused_at=None)
    assert press_next(client, wide_project).url == tasks[0].get_absolute_url()


def test_a_pick_reads_the_same_queries_with_or_without_a_history(client, wide_project):
    tasks = ready_tasks(wide_project, 30, candidates=4)
    newcomer, veteran = member(wide_project, "newcomer"), member(wide_project, "veteran")
    finish(veteran, tasks[:20])
    Preference.objects.bulk_create(
        Preference(user=veteran, task=task, choice=Preference.Choice.TIE) for task in tasks[:20]
    )
    counted = []
    for user, task in ((newcomer, tasks[24]), (veteran, tasks[25])):
        client.force_login(user)
        chosen = task.candidates.first()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                reverse("labeling-preference", args=[task.pk]),
                {"choice": "best", "chosen": str(chosen.uid)},
                headers={"HX-Request": "true"},
            )
        assert response.status_code == 200
        assert Preference.objects.get(user=user, task=task).chosen == chosen
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_a_review_save_reads_the_same_queries_with_or_without_reviews_behind(client, text_project):
    for number in range(14):
        make_text_task(text_project, f"question {number}", ["an answer"])
    Candidate.objects.update(review_state=Candidate.ReviewState.NEEDS_REVIEW)
    answers = list(Candidate.objects.order_by("pk"))
    newcomer = member(text_project, "newcomer", role=Membership.Role.REVIEWER)
    veteran = member(text_project, "veteran", role=Membership.Role.REVIEWER)
    Review.objects.bulk_create(
        Review(reviewer=veteran, candidate=answer, decision=Review.Decision.ACCEPT, original_text=answer.text)
        for answer in answers[:10]
    )
    counted = []
    for user, answer in ((newcomer, answers[11]), (veteran, answers[12])):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("labeling-review-save", args=[answer.uid]), {"decision": "accept"})
        assert response.status_code == 302
        assert Review.objects.filter(reviewer=user, candidate=answer).exists()
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_a_pick_reads_the_membership_once_and_no_generation_job(client, wide_project):
    """The pick re-renders the grid only: the pause check reuses the membership the access check read, and the
    generation job's panel, which the grid does not show, is not read."""
    task = ready_tasks(wide_project, 1, candidates=4)[0]
    client.force_login(member(wide_project, "picker"))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            reverse("labeling-preference", args=[task.pk]), {"choice": "tie"}, headers={"HX-Request": "true"}
        )
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    statements = [query["sql"] for query in queries]
    assert sum('FROM "labeling_membership"' in sql for sql in statements) == 1, statements
    assert not any("generation_generationjob" in sql for sql in statements), statements
