from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import Task, TaskReservation, Vote
from labeling.selectors import TASKS_LEFT_SHOWN_AT_MOST, annotator_progress, task_next_for
from tests.factories import make_ready_task, member


def press_next(client, project, **data):
    return client.post(reverse("labeling-task-next", args=[project.slug]), data)


def vote_all(user, task, value=Vote.Value.UP) -> None:
    Vote.objects.bulk_create(Vote(user=user, candidate=candidate, value=value) for candidate in task.candidates.all())


def test_next_takes_the_oldest_open_task_and_holds_it(client, annotator, project):
    make_ready_task(project, prompt="still generating", status=Task.Status.GENERATING)
    oldest = make_ready_task(project, prompt="oldest")
    make_ready_task(project, prompt="newer")
    client.force_login(annotator)
    response = press_next(client, project)
    assert response.status_code == 302 and response["Location"] == oldest.get_absolute_url()
    hold = TaskReservation.objects.get()
    assert (hold.task, hold.user) == (oldest, annotator)
    assert hold.expires_at > timezone.now() + timedelta(seconds=250)


def test_next_passes_over_tasks_the_user_finished_complete_tasks_and_their_own_prompts(client, annotator, project):
    finished = make_ready_task(project, prompt="finished")
    vote_all(annotator, finished)
    make_ready_task(project, prompt="complete", status=Task.Status.COMPLETE)
    make_ready_task(project, prompt="own", source=Task.Source.TYPED, created_by=annotator)
    half_done = make_ready_task(project, prompt="half done")
    Vote.objects.create(user=annotator, candidate=half_done.candidates.first(), value=Vote.Value.DOWN)
    client.force_login(annotator)
    assert press_next(client, project)["Location"] == half_done.get_absolute_url()


def test_the_last_open_slot_goes_to_one_annotator_only(client, project):
    task = make_ready_task(project)
    first, second = member(project, "first"), member(project, "second")
    client.force_login(first)
    assert press_next(client, project)["Location"] == task.get_absolute_url()
    client.force_login(second)
    response = press_next(client, project)
    assert response["Location"] == project.get_absolute_url()
    assert "Nothing is waiting for you" in client.get(response["Location"]).content.decode()
    assert list(TaskReservation.objects.values_list("user__username", flat=True)) == ["first"]


def test_an_overlap_of_two_hands_a_task_to_two_annotators(client, project):
    project.votes_per_candidate = 2
    project.save()
    task = make_ready_task(project)
    users = [member(project, f"user{number}") for number in range(3)]
    locations = []
    for user in users:
        client.force_login(user)
        locations.append(press_next(client, project)["Location"])
    assert locations == [task.get_absolute_url()] * 2 + [project.get_absolute_url()]


def test_a_lapsed_hold_frees_its_slot(client, project):
    task = make_ready_task(project)
    first, second = member(project, "first"), member(project, "second")
    TaskReservation.objects.create(task=task, user=first, expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(second)
    assert press_next(client, project)["Location"] == task.get_absolute_url()
    assert list(TaskReservation.objects.values_list("user__username", flat=True)) == ["second"]


def test_an_annotator_gets_their_unfinished_task_back_first(client, annotator, project):
    make_ready_task(project, prompt="older")
    held = make_ready_task(project, prompt="held")
    TaskReservation.objects.create(task=held, user=annotator, expires_at=timezone.now() + timedelta(seconds=60))
    client.force_login(annotator)
    response = press_next(client, project, after=str(held.pk))
    assert response["Location"] == held.get_absolute_url()
    assert "judge every candidate first, or skip it" in client.get(response["Location"]).content.decode()
    assert TaskReservation.objects.get().expires_at > timezone.now() + timedelta(seconds=250)


def test_after_judging_every_candidate_next_moves_on(client, annotator, project):
    first = make_ready_task(project, prompt="first", candidates=2)
    second = make_ready_task(project, prompt="second")
    client.force_login(annotator)
    press_next(client, project)
    for candidate in first.candidates.all():
        client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, HTTP_HX_REQUEST="true")
    assert press_next(client, project, after=str(first.pk))["Location"] == second.get_absolute_url()
    assert list(TaskReservation.objects.values_list("task", flat=True)) == [second.pk]


def test_a_holder_who_judged_every_candidate_no_longer_takes_a_slot(client, project):
    project.votes_per_candidate = 2
    project.save()
    task = make_ready_task(project, candidates=2)
    done, busy, newcomer = member(project, "done"), member(project, "busy"), member(project, "newcomer")
    vote_all(done, task)  # one slot of two is filled
    in_a_minute = timezone.now() + timedelta(seconds=60)
    TaskReservation.objects.create(task=task, user=busy, expires_at=in_a_minute)
    client.force_login(newcomer)
    assert press_next(client, project)["Location"] == project.get_absolute_url()

    TaskReservation.objects.filter(user=busy).update(user=done)
    assert press_next(client, project)["Location"] == task.get_absolute_url()


def test_skipping_releases_the_hold_and_puts_the_task_last(client, annotator, project):
    skipped = make_ready_task(project, prompt="skipped")
    later = make_ready_task(project, prompt="later")
    client.force_login(annotator)
    press_next(client, project)
    response = client.post(reverse("labeling-task-skip", args=[skipped.pk]))
    assert response["Location"] == later.get_absolute_url()
    assert list(TaskReservation.objects.values_list("task", flat=True)) == [later.pk]
    vote_all(annotator, later)
    TaskReservation.objects.all().delete()
    assert press_next(client, project)["Location"] == skipped.get_absolute_url()


def test_outsiders_cannot_take_or_skip_tasks(client, outsider, project, ready_task):
    client.force_login(outsider)
    assert press_next(client, project).status_code == 404
    assert client.post(reverse("labeling-task-skip", args=[ready_task.pk])).status_code == 404
    assert not TaskReservation.objects.exists()


def test_next_needs_a_post(client, annotator, project, ready_task):
    client.force_login(annotator)
    assert client.get(reverse("labeling-task-next", args=[project.slug])).status_code == 405
    assert not TaskReservation.objects.exists()


def test_the_selector_agrees_with_the_queue(annotator, project):
    first = make_ready_task(project, prompt="first")
    second = make_ready_task(project, prompt="second")
    assert task_next_for(user=annotator, project=project) == first
    assert task_next_for(user=annotator, project=project, skipped=[first.pk]) == second
    vote_all(annotator, second)
    assert task_next_for(user=annotator, project=project, skipped=[first.pk]) == first


def test_the_progress_panel_stops_counting_open_tasks_at_its_cap(client, annotator, project):
    for number in range(TASKS_LEFT_SHOWN_AT_MOST + 2):
        make_ready_task(project, prompt=f"open {number}", candidates=1)

    assert annotator_progress(user=annotator, project=project).tasks_left == TASKS_LEFT_SHOWN_AT_MOST
    client.force_login(annotator)
    page = client.get(project.get_absolute_url()).content.decode()
    assert f'<dd id="tasks-left">{TASKS_LEFT_SHOWN_AT_MOST}+</dd>' in page


def test_the_progress_panel_counts_votes_and_open_tasks(client, annotator, project):
    done = make_ready_task(project, prompt="done", candidates=2)
    make_ready_task(project, prompt="open 1")
    make_ready_task(project, prompt="open 2")
    vote_all(annotator, done)
    yesterday = Vote.objects.filter(user=annotator).first()
    Vote.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=2))
    withdrawn = make_ready_task(project, prompt="open 3", candidates=1)
    Vote.objects.create(user=annotator, candidate=withdrawn.candidates.first(), value=Vote.Value.WITHDRAWN)

    progress = annotator_progress(user=annotator, project=project)
    assert (progress.votes_today, progress.votes_total, progress.tasks_left) == (1, 2, 3)
    client.force_login(annotator)
    page = client.get(project.get_absolute_url()).content.decode()
    assert 'id="queue-panel"' in page and "My progress" in page
    assert '<dd id="votes-today">1</dd>' in page and '<dd id="tasks-left">3</dd>' in page
    assert reverse("labeling-task-next", args=[project.slug]) in page


def test_the_progress_panel_says_when_nothing_is_left(client, annotator, project):
    client.force_login(annotator)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "Nothing is waiting for you here" in page and 'id="next-task"' not in page


@pytest.mark.parametrize("forbid", [True, False])
def test_own_typed_prompts_are_queued_only_where_the_project_allows_it(annotator, project, forbid):
    project.forbid_self_voting = forbid
    project.save()
    own = make_ready_task(project, source=Task.Source.TYPED, created_by=annotator)
    assert task_next_for(user=annotator, project=project) == (None if forbid else own)
