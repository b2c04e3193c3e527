"""A paused member gets no more tasks, and nothing they send is recorded: the votes' one statement, picks, reviews
and answer comparisons refuse them with a message saying so (403)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import Membership, Preference, Review, Task, TaskReservation, Vote
from tests.factories import make_ready_task, make_text_task, member


def pause(user, project) -> None:
    Membership.objects.filter(user=user, project=project).update(paused_at=timezone.now())


def reinstate(user, project) -> None:
    Membership.objects.filter(user=user, project=project).update(paused_at=None)


@pytest.fixture
def paused_annotator(client, annotator, project):
    pause(annotator, project)
    client.force_login(annotator)
    return annotator


def test_a_paused_annotator_gets_no_tasks_for_you_on_next_and_on_the_project_page(client, paused_annotator, project):
    make_ready_task(project)
    response = client.post(reverse("labeling-task-next", args=[project.slug]), follow=True)
    content = response.content.decode()
    assert response.redirect_chain[-1][0] == project.get_absolute_url()
    assert "has paused your work here: no tasks for you" in content
    assert 'id="next-task"' not in content
    assert not TaskReservation.objects.exists()


def test_a_paused_annotator_loses_the_task_they_held(client, annotator, project):
    task = make_ready_task(project)
    client.force_login(annotator)
    assert client.post(reverse("labeling-task-next", args=[project.slug]))["Location"] == task.get_absolute_url()
    pause(annotator, project)
    assert client.post(reverse("labeling-task-next", args=[project.slug]))["Location"] == project.get_absolute_url()


def test_a_paused_annotators_votes_and_picks_are_refused_and_not_recorded(client, paused_annotator, project):
    task = make_ready_task(project, candidates=2)
    candidate = task.candidates.first()
    for data, headers in [({"value": "up"}, {"HTTP_HX_REQUEST": "true"}), ({"value": "down"}, {})]:
        response = client.post(reverse("labeling-vote", args=[candidate.uid]), data, **headers)
        assert response.status_code == 403
        assert "has paused your work here" in response.content.decode()
    pick = client.post(reverse("labeling-preference", args=[task.pk]), {"choice": "tie"}, HTTP_HX_REQUEST="true")
    assert pick.status_code == 403 and "paused" in pick.content.decode()
    assert not Vote.objects.exists() and not Preference.objects.exists()
    page = client.get(task.get_absolute_url()).content.decode()
    assert 'name="value" value="up"' not in page, "the task page offers no voting to a paused member"


def test_a_reinstated_annotator_gets_tasks_and_votes_again(client, paused_annotator, project):
    task = make_ready_task(project)
    reinstate(paused_annotator, project)
    assert client.post(reverse("labeling-task-next", args=[project.slug]))["Location"] == task.get_absolute_url()
    candidate = task.candidates.first()
    response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Vote.objects.get().value == Vote.Value.UP


def test_pausing_in_one_project_leaves_the_others_alone(client, annotator, project, text_project):
    Membership.objects.create(user=annotator, project=text_project)
    pause(annotator, text_project)
    task = make_ready_task(project)
    client.force_login(annotator)
    response = client.post(reverse("labeling-vote", args=[task.candidates.first().uid]), {"value": "up"})
    assert response.status_code == 302 and Vote.objects.count() == 1


def test_a_paused_reviewer_gets_no_answers_and_their_reviews_and_comparisons_are_refused(client, text_project, flagged):
    reviewer = member(text_project, "ravi", role=Membership.Role.REVIEWER)
    answer = flagged()
    pair = make_text_task(text_project, "Which is better?", ["One.", "Two."])
    pause(reviewer, text_project)
    client.force_login(reviewer)

    response = client.get(reverse("labeling-review-next", args=[text_project.slug]))
    assert response.status_code == 200
    assert "has paused your work here: no tasks for you" in response.content.decode()

    response = client.post(reverse("labeling-review-save", args=[answer.uid]), {"decision": "accept"})
    assert response.status_code == 403
    assert "has paused your work here" in response.content.decode()
    response = client.post(reverse("labeling-pair-save", args=[pair.pk]), {"choice": "a"})
    assert response.status_code == 403
    assert not Review.objects.exists() and not Preference.objects.exists()
    assert Task.objects.get(pk=pair.pk).status == Task.Status.READY


def test_a_superuser_is_never_paused(client, staff, project):
    Membership.objects.create(user=staff, project=project, paused_at=timezone.now())
    task = make_ready_task(project)
    client.force_login(staff)
    assert client.post(reverse("labeling-task-next", args=[project.slug]))["Location"] == task.get_absolute_url()


def test_a_pause_made_after_a_service_read_the_task_still_refuses_its_pick(annotator, project):
    """The pause check reuses only the membership an access check read for the same request; a service that holds a
    task object across a pause asks again."""
    from labeling.votes import JudgePaused, preference_record

    task = make_ready_task(project, candidates=2)
    preference_record(user=annotator, task=task, choice="tie")
    pause(annotator, project)
    with pytest.raises(JudgePaused):
        preference_record(user=annotator, task=task, choice="all_bad")
    assert Preference.objects.get(user=annotator, task=task).choice == "tie"
