"""Gold comes in through the batch import (the command and the admin) and the task admin, checked once by
labeling/gold.py: a bad definition is refused with its line and reason, and nothing is imported."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from generation import uncertainty
from labeling.gold import AUDIT_REVIEW_REASON
from labeling.models import Candidate, Project, PromptBatch, Task
from tests.factories import make_ready_task, make_text_task


def write(tmp_path, name: str, data: str):
    path = tmp_path / name
    path.write_text(data)
    return path


def import_file(project, tmp_path, name: str, data: str):
    call_command("import_prompts", project.slug, str(write(tmp_path, name, data)))


def refusal(project, tmp_path, name: str, data: str) -> str:
    with pytest.raises(CommandError) as error:
        import_file(project, tmp_path, name, data)
    return str(error.value)


@pytest.fixture
def confident_answers(text_project):
    text_project.audit_share = 0.0
    text_project.review_threshold = 0.5
    text_project.save()
    return text_project


def test_a_csv_row_brings_gold_as_a_json_cell_or_as_flat_columns(project, tmp_path):
    data = (
        "prompt,gold,gold_good,gold_bad,gold_best\n"
        '"a red cube","{""ratings"": {""0"": ""good""}, ""best"": ""tie""}",,,\n'
        '"a blue cone",,"0, 2",3,2\n'
        '"an ordinary prompt",,,,\n'
    )
    import_file(project, tmp_path, "gold.csv", data)
    gold = dict(Task.objects.values_list("prompt", "gold"))
    assert gold == {
        "a red cube": {"ratings": {"0": "good"}, "best": "tie"},
        "a blue cone": {"ratings": {"0": "good", "2": "good", "3": "bad"}, "best": 2},
        "an ordinary prompt": None,
    }
    assert all(extra == {} for extra in Task.objects.values_list("extra", flat=True)), "gold is no extra column"


def test_a_jsonl_answer_row_with_gold_waits_in_review_like_an_audited_answer(confident_answers, tmp_path):
    lines = [
        {
            "prompt": "Capital of France?",
            "response": "Paris.",
            "confidence": 0.99,
            "gold": {"decisions": {"0": "accept"}},
        },
        {
            "prompt": "Capital of Australia?",
            "response": "Sydney.",
            "confidence": 0.99,
            "gold_decision": "correct",
            "gold_text": "Canberra.",
        },
        {"prompt": "Capital of Peru?", "response": "Lima.", "confidence": 0.99},
    ]
    import_file(confident_answers, tmp_path, "gold.jsonl", "\n".join(json.dumps(line) for line in lines))
    answers = {answer.task.prompt: answer for answer in Candidate.objects.select_related("task")}
    assert answers["Capital of France?"].task.gold == {"decisions": {"0": {"decision": "accept"}}}
    assert answers["Capital of Australia?"].task.gold == {
        "decisions": {"0": {"decision": "correct", "text": "Canberra."}}
    }
    for gold_prompt in ("Capital of France?", "Capital of Australia?"):
        assert answers[gold_prompt].review_state == Candidate.ReviewState.NEEDS_REVIEW
        assert answers[gold_prompt].review_reason == AUDIT_REVIEW_REASON
    assert answers["Capital of Peru?"].review_state == Candidate.ReviewState.ACCEPTED


def test_a_gold_answer_wears_the_same_reason_as_a_random_audit():
    assert AUDIT_REVIEW_REASON == uncertainty.RANDOM_AUDIT


def test_a_row_naming_an_existing_task_sets_its_gold(project, tmp_path, capsys):
    task = make_ready_task(project, prompt="a heron", status=Task.Status.COMPLETE)
    import_file(project, tmp_path, "gold.csv", f"task,prompt,gold_bad,gold_best\n{task.pk},,1,all_bad\n")
    task.refresh_from_db()
    assert task.gold == {"ratings": {"1": "bad"}, "best": "all_bad"}
    assert task.status == Task.Status.COMPLETE, "a gold task's status follows the ordinary rule"
    assert Task.objects.count() == 1
    assert "gold set on 1 existing tasks" in capsys.readouterr().out


BAD_GOLD = [
    pytest.param(
        'prompt,gold_good\n"a cube",7\n',
        "line 2: gold rating of candidate 7 names a candidate the task does not have (it has 0, 1, 2, 3)",
        id="a-candidate-the-task-does-not-have",
    ),
    pytest.param(
        'prompt,gold_best\n"a cube",9\n',
        "line 2: gold best 9 names a candidate the task does not have (it has 0, 1, 2, 3)",
        id="a-best-the-task-does-not-have",
    ),
    pytest.param(
        'prompt,gold_good\n"a cube",great\n',
        "line 2: gold rating of candidate 'great' is not a candidate index (0, 1, 2, …)",
        id="a-rating-key-that-is-no-index",
    ),
    pytest.param(
        'prompt,gold\n"a cube","{""ratings"": {""0"": ""nice""}}"\n',
        "line 2: gold rating of candidate 0 must be 'good' or 'bad', got 'nice'",
        id="a-rating-that-does-not-exist",
    ),
    pytest.param(
        'prompt,gold\n"a cube","{""decisions"": {""0"": ""accept""}}"\n',
        "line 2: gold field 'decisions' does not exist for an image project; use 'ratings' and 'best'",
        id="a-decision-on-an-image-project",
    ),
    pytest.param(
        'prompt,gold\n"a cube","{""ratings"": "\n',
        "line 2: 'gold' is not valid JSON",
        id="gold-that-is-no-json",
    ),
    pytest.param(
        'prompt,gold,gold_good\n"a cube","{""best"": 1}",0\n',
        "line 2: give gold as a 'gold' object or as gold_good, not both",
        id="both-forms",
    ),
    pytest.param(
        'prompt,gold_good,gold_bad\n"a cube",1,1\n',
        "line 2: candidate 1 is in both gold_good and gold_bad",
        id="good-and-bad-at-once",
    ),
    pytest.param(
        'prompt,gold\n"a cube",{}\n',
        "line 2: gold is empty: give at least one rating or a best pick",
        id="empty-gold",
    ),
]


@pytest.mark.parametrize(("data", "reason"), BAD_GOLD)
def test_bad_image_gold_is_refused_with_its_line_and_reason_and_nothing_is_imported(project, tmp_path, data, reason):
    message = refusal(project, tmp_path, "bad.csv", data)
    assert reason in message
    assert message.startswith("Nothing imported")
    assert not Task.objects.exists() and not PromptBatch.objects.exists()


def test_every_bad_gold_line_is_listed_and_the_good_lines_are_not_imported(project, tmp_path):
    data = 'prompt,gold_good,gold_best\n"fine",0,1\n"bad index",4,\n"bad best",,first\n"fine too",,tie\n'
    message = refusal(project, tmp_path, "bad.csv", data)
    assert "line 3: gold rating of candidate 4 names a candidate the task does not have" in message
    assert "line 4: gold 'best' must be a candidate index, 'tie' or 'all_bad', got 'first'" in message
    assert "2 bad line(s)" in message
    assert not Task.objects.exists()


BAD_TEXT_GOLD = [
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold_decision": "maybe"},
        "line 2: gold decision 'maybe' for answer 0 does not exist; use one of: accept, correct, reject",
        id="a-decision-that-does-not-exist",
    ),
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold": {"decisions": {"1": "accept"}}},
        "line 2: gold decision for answer 1 names a candidate the task does not have (it has 0)",
        id="an-answer-the-task-does-not-have",
    ),
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold_decision": "correct"},
        "line 2: gold decision 'correct' for answer 0 needs the accepted 'text'",
        id="a-correction-without-its-text",
    ),
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold_decision": "correct", "gold_text": " A. "},
        "line 2: gold correction for answer 0 is the answer itself; expect 'accept' instead",
        id="a-correction-that-is-the-answer",
    ),
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold_decision": "reject", "gold_text": "B."},
        "line 2: gold 'text' for answer 0 is only for a 'correct' decision",
        id="a-text-on-a-rejection",
    ),
    pytest.param(
        {"prompt": "Q?", "gold_decision": "accept"},
        "line 2: gold decisions judge an answer: give the answer in 'response'",
        id="gold-without-the-answer",
    ),
    pytest.param(
        {"prompt": "Q?", "response": "A.", "gold": {"ratings": {"0": "good"}}},
        "line 2: gold field 'ratings' does not exist for an LLM answer project; use 'decisions'",
        id="ratings-on-a-text-project",
    ),
]


@pytest.mark.parametrize(("row", "reason"), BAD_TEXT_GOLD)
def test_bad_answer_gold_is_refused_with_its_line_and_reason_and_nothing_is_imported(
    confident_answers, tmp_path, row, reason
):
    data = json.dumps({"prompt": "A fine question?", "response": "Yes."}) + "\n" + json.dumps(row)
    message = refusal(confident_answers, tmp_path, "bad.jsonl", data)
    assert reason in message
    assert not Task.objects.exists() and not Candidate.objects.exists()


def test_gold_on_a_task_of_another_project_or_on_no_task_is_refused_and_nothing_changes(project, tmp_path):
    other = Project.objects.create(slug="fish", name="Fish")
    theirs = make_ready_task(other, prompt="a trout", candidates=2)
    ours = make_ready_task(project, prompt="a heron", candidates=2)
    data = (
        "task,prompt,gold_good\n"
        f"{ours.pk},,0\n"
        f"{theirs.pk},,0\n"
        "999999,,0\n"
        f"{ours.pk},a different prompt,1\n"
        ",a new prompt,0\n"
        f"{ours.pk},,\n"
    )
    message = refusal(project, tmp_path, "bad.csv", data)
    assert f"line 3: task {theirs.pk} belongs to another project; gold can only be set on tasks of birds" in message
    assert "line 4: there is no task 999999" in message
    assert f"line 5: the prompt is not task {ours.pk}'s prompt; leave it empty or copy it exactly" in message
    assert f"line 7: a row naming an existing task (task {ours.pk}) must give its gold" in message
    assert Task.objects.filter(gold__isnull=False).count() == 0
    assert Task.objects.count() == 2 and not PromptBatch.objects.exists()


def test_staff_import_gold_in_the_admin_and_see_the_bad_line(client, staff, project):
    client.force_login(staff)
    url = reverse("admin:labeling_project_import", args=[project.pk])
    bad = SimpleUploadedFile("gold.csv", b'prompt,gold_bad\n"a cube",5\n')
    response = client.post(url, {"file": bad, "name": ""})
    assert response.status_code == 200
    assert "line 2: gold rating of candidate 5 names a candidate the task does not have" in response.content.decode()
    assert not Task.objects.exists()

    good = SimpleUploadedFile("gold.csv", b'prompt,gold_bad\n"a cube",3\n')
    assert client.post(url, {"file": good, "name": ""}).status_code == 302
    assert Task.objects.get().gold == {"ratings": {"3": "bad"}}


def task_admin_post(client, task: Task, gold: str):
    url = reverse("admin:labeling_task_change", args=[task.pk])
    data = {
        "project": task.project_id,
        "prompt": task.prompt,
        "source": task.source,
        "status": task.status,
        "extra": json.dumps(task.extra),
        "gold": gold,
        "candidates-TOTAL_FORMS": "0",
        "candidates-INITIAL_FORMS": "0",
        "candidates-MIN_NUM_FORMS": "0",
        "candidates-MAX_NUM_FORMS": "1000",
    }
    return client.post(url, data)


def test_staff_set_change_and_clear_gold_in_the_task_admin_with_the_same_checks(client, staff, project):
    client.force_login(staff)
    task = make_ready_task(project, candidates=2, status=Task.Status.COMPLETE)

    response = task_admin_post(client, task, '{"ratings": {"2": "good"}}')
    assert response.status_code == 200
    assert "gold rating of candidate 2 names a candidate the task does not have (it has 0, 1)" in (
        response.content.decode()
    )
    task.refresh_from_db()
    assert task.gold is None and task.status == Task.Status.COMPLETE

    assert task_admin_post(client, task, '{"ratings": {"1": "good"}, "best": 1}').status_code == 302
    task.refresh_from_db()
    assert task.gold == {"ratings": {"1": "good"}, "best": 1}

    assert task_admin_post(client, task, "").status_code == 302
    task.refresh_from_db()
    assert task.gold is None


def test_gold_set_in_the_admin_on_an_accepted_answer_puts_it_in_review(client, staff, text_project):
    client.force_login(staff)
    task = make_text_task(text_project, "Capital of Peru?", ["Lima."], confidence=0.99)
    Candidate.objects.filter(task=task).update(review_state=Candidate.ReviewState.ACCEPTED)
    response = task_admin_post(client, task, '{"decisions": {"0": {"decision": "wrong"}}}')
    assert "gold decision &#x27;wrong&#x27; for answer 0 does not exist" in response.content.decode()
    assert task_admin_post(client, task, '{"decisions": {"0": "accept"}}').status_code == 302
    answer = Candidate.objects.get(task=task)
    assert answer.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert answer.review_reason == AUDIT_REVIEW_REASON
