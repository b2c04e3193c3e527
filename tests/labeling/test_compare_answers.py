import pytest
from django.urls import reverse

from labeling.models import Candidate, Membership, Preference, Task
from labeling.review_services import ReviewError, pair_preference_record
from tests.factories import member


@pytest.fixture
def pair(text_project):
    text_project.candidates_per_task = 2
    text_project.save()
    task = Task.objects.create(project=text_project, prompt="Capital of Australia?", source="batch", status="ready")
    for index, text in enumerate(["Sydney.", "Canberra."]):
        Candidate.objects.create(task=task, index=index, text=text, review_state="accepted")
    return task


@pytest.fixture
def judge(text_project):
    return member(text_project, "jude", role=Membership.Role.ANNOTATOR)


@pytest.mark.parametrize(
    ("choice", "stored", "chosen_index"),
    [("a", "best", 0), ("b", "best", 1), ("tie", "tie", None), ("both_bad", "all_bad", None)],
)
def test_each_comparison_is_stored_as_a_preference(client, pair, judge, choice, stored, chosen_index):
    client.force_login(judge)
    page = client.get(reverse("labeling-pair-next", args=["answers"])).content.decode()
    assert "Sydney." in page and "Canberra." in page
    client.post(reverse("labeling-pair-save", args=[pair.pk]), {"choice": choice})
    preference = Preference.objects.get(user=judge, task=pair)
    assert preference.choice == stored
    assert (preference.chosen.index if preference.chosen else None) == chosen_index
    assert (
        "No answer pairs wait for you" in client.get(reverse("labeling-pair-next", args=["answers"])).content.decode()
    )


def test_an_unknown_choice_is_refused_with_a_message(client, pair, judge):
    client.force_login(judge)
    response = client.post(reverse("labeling-pair-save", args=[pair.pk]), {"choice": "c"}, follow=True)
    assert "Unknown choice; choose one of: a, b, tie, both_bad." in response.content.decode()
    assert not Preference.objects.exists()


def test_the_author_of_a_prompt_may_not_judge_its_answers(pair, judge):
    pair.created_by = judge
    pair.source = Task.Source.TYPED
    pair.save()
    with pytest.raises(ReviewError, match="You wrote this prompt"):
        pair_preference_record(user=judge, task=pair, choice="a")
    assert not Preference.objects.exists()


def test_whoever_imported_a_batch_compares_its_answers_like_votes_on_it(pair, judge):
    """One rule for every judgement: only the typist of a prompt is kept from judging it, never its importer."""
    pair.created_by = judge
    pair.save()
    pair_preference_record(user=judge, task=pair, choice="b")
    assert Preference.objects.get(user=judge, task=pair).chosen.index == 1


@pytest.mark.parametrize("status", [Task.Status.FAILED, Task.Status.GENERATING])
def test_a_comparison_of_a_task_not_taking_feedback_is_refused(client, pair, judge, status):
    Task.objects.filter(pk=pair.pk).update(status=status)
    client.force_login(judge)
    response = client.post(reverse("labeling-pair-save", args=[pair.pk]), {"choice": "a"}, follow=True)
    assert "This task is not taking feedback" in response.content.decode()
    assert not Preference.objects.exists()


def test_outsiders_cannot_compare(client, pair, outsider):
    client.force_login(outsider)
    assert client.post(reverse("labeling-pair-save", args=[pair.pk]), {"choice": "a"}).status_code == 404
    assert not Preference.objects.exists()
