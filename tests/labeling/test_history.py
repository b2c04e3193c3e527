"""The audit trail: every way the site changes a vote, a pick, a review, a membership or a project's settings leaves
a history row with who, when and the values, so old and new can be read from consecutive rows; a manager reads a
task's history on its own page, and staff in the admin."""

import pytest
from django.test import Client
from django.urls import reverse

from labeling.history import task_history
from labeling.models import Candidate, Membership, Preference, Project, Review, Task, Vote
from labeling.review_services import review_submit
from labeling.votes import preference_record, vote_cast
from tests.factories import make_ready_task, make_user, member

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ready_task(project):
    return make_ready_task(project)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_post_data(response) -> dict:
    """What the admin's change form posts back unchanged: every field's current value, inlines included."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value
    return data


def admin_edit(staff, instance, **changes) -> None:
    """Change ``instance`` through its admin change form, as staff do."""
    url = reverse(f"admin:{instance._meta.app_label}_{instance._meta.model_name}_change", args=[instance.pk])
    client = logged_in(staff)
    data = admin_post_data(client.get(url)) | changes
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response


def trail(model, pk: int, *fields: str) -> list[tuple]:
    """The object's history rows in order: change type, acting user's name, then ``fields``."""
    rows = model.history.filter(id=pk).order_by("history_date", "history_id").select_related("history_user")
    return [
        (row.history_type, row.history_user.username if row.history_user else None, *(getattr(row, f) for f in fields))
        for row in rows
    ]


def test_every_write_path_of_a_vote_leaves_its_history_with_who_and_the_values(
    client, project, annotator, staff, ready_task
):
    candidate = ready_task.candidates.get(index=1)
    client.force_login(annotator)
    vote_url = reverse("labeling-vote", args=[candidate.uid])

    assert client.post(vote_url, {"value": "up"}, **HTMX).status_code == 200
    vote = Vote.objects.get(user=annotator, candidate=candidate)
    assert client.post(vote_url, {"value": "down"}, **HTMX).status_code == 200
    assert client.post(vote_url, {"value": "withdraw"}, **HTMX).status_code == 200
    vote_cast(user=annotator, candidate_uid=candidate.uid, value="up")
    assert Vote.history.filter(id=vote.pk).latest("history_id").history_date == Vote.objects.get(pk=vote.pk).updated_at
    admin_edit(staff, Vote.objects.get(pk=vote.pk), value=str(Vote.Value.DOWN))

    assert trail(Vote, vote.pk, "value") == [
        ("+", "annie", Vote.Value.UP),
        ("~", "annie", Vote.Value.DOWN),
        ("~", "annie", Vote.Value.WITHDRAWN),
        ("~", "annie", Vote.Value.UP),
        ("~", "stella", Vote.Value.DOWN),
    ]
    admin_delete_url = reverse("admin:labeling_vote_delete", args=[vote.pk])
    assert logged_in(staff).post(admin_delete_url, {"post": "yes"}).status_code == 302
    assert trail(Vote, vote.pk, "value")[-1] == ("-", "stella", Vote.Value.DOWN)
    changes = [
        (change.field, change.old, change.new)
        for entry in reversed(task_history(task=ready_task))
        for change in entry.changes
    ]
    assert changes == [
        ("value", "—", "👍"),
        ("value", "👍", "👎"),
        ("value", "👎", "withdrawn"),
        ("value", "withdrawn", "👍"),
        ("value", "👍", "👎"),
    ]
    assert task_history(task=ready_task)[0].action == "deleted"


def test_a_refused_vote_leaves_no_history(client, project, annotator, ready_task):
    Task.objects.filter(pk=ready_task.pk).update(status=Task.Status.FAILED)
    client.force_login(annotator)
    candidate = ready_task.candidates.first()
    assert client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "up"}, **HTMX).status_code == 409
    assert client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": "withdraw"}, **HTMX).status_code == 409
    assert not Vote.history.exists()


def test_every_write_path_of_a_pick_leaves_its_history(client, project, annotator, staff, ready_task, text_project):
    first, second = ready_task.candidates.get(index=0), ready_task.candidates.get(index=2)
    client.force_login(annotator)
    preference_url = reverse("labeling-preference", args=[ready_task.pk])

    client.post(preference_url, {"choice": "best", "chosen": str(first.uid)}, **HTMX)
    pick = Preference.objects.get(user=annotator, task=ready_task)
    client.post(preference_url, {"choice": "tie"}, **HTMX)
    preference_record(user=annotator, task=ready_task, choice="best", chosen=second)
    admin_edit(staff, Preference.objects.get(pk=pick.pk), choice="all_bad", chosen="")

    assert trail(Preference, pick.pk, "choice", "chosen_id") == [
        ("+", "annie", "best", first.pk),
        ("~", "annie", "tie", None),
        ("~", "annie", "best", second.pk),
        ("~", "stella", "all_bad", None),
    ]
    changes = [
        [(change.field, change.old, change.new) for change in entry.changes]
        for entry in reversed(task_history(task=ready_task))
    ]
    assert changes == [
        [("choice", "—", "Best"), ("chosen", "—", "candidate #0")],
        [("choice", "Best", "Tie"), ("chosen", "candidate #0", "—")],
        [("choice", "Tie", "Best"), ("chosen", "—", "candidate #2")],
        [("choice", "Best", "All bad"), ("chosen", "candidate #2", "—")],
    ]


def test_comparing_two_answers_leaves_the_picks_history(client, text_project):
    text_project.candidates_per_task = 2
    text_project.save()
    task = Task.objects.create(project=text_project, prompt="Capital of Australia?", source="batch", status="ready")
    answers = [
        Candidate.objects.create(task=task, index=n, text=text) for n, text in enumerate(["Sydney.", "Canberra."])
    ]
    judge = member(text_project, "jude")
    client.force_login(judge)

    client.post(reverse("labeling-pair-save", args=[task.pk]), {"choice": "a"})
    client.post(reverse("labeling-pair-save", args=[task.pk]), {"choice": "b"})

    pick = Preference.objects.get(user=judge, task=task)
    assert trail(Preference, pick.pk, "choice", "chosen_id") == [
        ("+", "jude", "best", answers[0].pk),
        ("~", "jude", "best", answers[1].pk),
    ]


def test_every_write_path_of_a_review_leaves_its_history(
    client, text_project, text_reviewer, other_reviewer, staff, flagged
):
    text_project.reviews_per_answer = 2
    text_project.save()
    answer = flagged("Maybe the capital is Sydney.")
    client.force_login(text_reviewer)

    response = client.post(
        reverse("labeling-review-save", args=[answer.uid]),
        {"decision": "correct", "corrected_text": "The capital is Canberra."},
    )
    assert response.status_code == 302
    by_page = Review.objects.get(reviewer=text_reviewer)
    by_service = review_submit(reviewer=other_reviewer, candidate=answer, decision="reject", reason="wrong city")
    admin_edit(staff, Review.objects.get(pk=by_page.pk), decision="accept", corrected_text="")

    assert trail(Review, by_page.pk, "decision", "corrected_text") == [
        ("+", "ravi", "correct", "The capital is Canberra."),
        ("~", "stella", "accept", ""),
    ]
    assert trail(Review, by_service.pk, "decision", "reason") == [("+", "rosa", "reject", "wrong city")]
    changes = {
        (entry.who, change.field, change.old, change.new)
        for entry in task_history(task=answer.task)
        for change in entry.changes
    }
    assert {
        ("ravi", "decision", "—", "Correct"),
        ("stella", "decision", "Correct", "Accept"),
        ("stella", "corrected text", "The capital is Canberra.", "—"),
        ("rosa", "reason", "—", "wrong city"),
    } <= changes


def test_a_membership_and_a_projects_settings_changed_in_the_admin_keep_their_history(project, annotator, staff):
    membership = Membership.objects.get(user=annotator, project=project)
    admin_edit(staff, membership, role=Membership.Role.REVIEWER)
    admin_edit(staff, Project.objects.get(pk=project.pk), votes_per_candidate="3")

    assert trail(Membership, membership.pk, "role") == [("+", None, "annotator"), ("~", "stella", "reviewer")]
    assert trail(Project, project.pk, "votes_per_candidate")[-2:] == [("+", None, 1), ("~", "stella", 3)]


def test_a_manager_reads_who_changed_what_on_the_tasks_history_page(client, project, annotator, manager, ready_task):
    candidate = ready_task.candidates.get(index=1)
    vote_cast(user=annotator, candidate_uid=candidate.uid, value="up")
    vote_cast(user=annotator, candidate_uid=candidate.uid, value="down")
    client.force_login(manager)

    task_page = client.get(reverse("labeling-task", args=[ready_task.pk])).content.decode()
    assert reverse("labeling-task-history", args=[ready_task.pk]) in task_page
    page = client.get(reverse("labeling-task-history", args=[ready_task.pk])).content.decode()

    assert "annie&#x27;s vote on candidate #1" in page
    assert "value: 👍 → 👎" in page
    assert "value: — → 👍" in page


@pytest.mark.parametrize(("role", "status"), [("annotator", 403), ("reviewer", 403), ("outsider", 404)])
def test_only_managers_see_a_tasks_history(client, project, ready_task, role, status):
    user = make_user("someone") if role == "outsider" else member(project, "someone", role=role)
    client.force_login(user)
    assert client.get(reverse("labeling-task-history", args=[ready_task.pk])).status_code == status
    if role != "outsider":
        task_page = client.get(reverse("labeling-task", args=[ready_task.pk])).content.decode()
        assert reverse("labeling-task-history", args=[ready_task.pk]) not in task_page


def test_staff_read_a_votes_history_in_the_admin(client, annotator, staff, ready_task):
    candidate = ready_task.candidates.get(index=0)
    vote_cast(user=annotator, candidate_uid=candidate.uid, value="up")
    vote_cast(user=annotator, candidate_uid=candidate.uid, value="down")
    vote = Vote.objects.get()
    client.force_login(staff)

    page = client.get(reverse("admin:labeling_vote_history", args=[vote.pk])).content.decode()

    assert page.count("annie") >= 2
    first = Vote.history.filter(id=vote.pk).order_by("history_id").first()
    version = client.get(reverse("admin:labeling_vote_simple_history", args=[vote.pk, first.history_id]))
    assert version.status_code == 200


def test_the_review_page_leads_managers_but_not_reviewers_to_the_answers_history(client, text_project, flagged):
    answer = flagged()
    history_url = reverse("labeling-task-history", args=[answer.task.pk])
    review_url = reverse("labeling-review-answer", args=[answer.uid])

    client.force_login(member(text_project, "rita", role=Membership.Role.REVIEWER))
    assert history_url not in client.get(review_url).content.decode()
    client.force_login(member(text_project, "mona", role=Membership.Role.MANAGER))
    assert history_url in client.get(review_url).content.decode()
