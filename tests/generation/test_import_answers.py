import json

import pytest
from django.core.management import CommandError, call_command

from generation.models import GenerationJob
from labeling.models import Candidate, Task


def write(tmp_path, name: str, data: str):
    path = tmp_path / name
    path.write_text(data)
    return path


@pytest.fixture
def no_audit(text_project):
    text_project.audit_share = 0.0
    text_project.review_threshold = 0.7
    text_project.save()
    return text_project


def test_imported_answers_are_routed_by_their_confidence_without_generating(no_audit, tmp_path, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    data = (
        "prompt,response,confidence\n"
        "Capital of France?,Paris.,0.95\n"
        "Capital of Australia?,Sydney.,0.3\n"
        "Capital of Peru?,Maybe Lima.,0.99\n"
        "Capital of Chile?,Santiago.,\n"
        "Capital of Spain?,,\n"
    )
    call_command("import_prompts", no_audit.slug, str(write(tmp_path, "answers.csv", data)))
    answers = {c.task.prompt: c for c in Candidate.objects.select_related("task")}
    assert answers["Capital of France?"].review_state == "accepted"
    assert answers["Capital of France?"].confidence == 0.95
    assert answers["Capital of Australia?"].review_reason == "confidence 0.30 below threshold 0.70"
    assert answers["Capital of Peru?"].review_reason == "hedge words: maybe"
    assert answers["Capital of Chile?"].review_state == "needs_review"
    assert "confidence unknown" in answers["Capital of Chile?"].review_reason
    assert "Capital of Spain?" not in answers
    assert Task.objects.get(prompt="Capital of Spain?").status == Task.Status.NEW
    assert Task.objects.get(prompt="Capital of France?").status == Task.Status.READY
    assert answers["Capital of France?"].task.extra == {}
    assert not GenerationJob.objects.exists()


def test_a_jsonl_answer_with_a_numeric_confidence_is_imported(no_audit, tmp_path):
    line = json.dumps({"prompt": "2+2?", "response": "4", "confidence": 1})
    call_command("import_prompts", no_audit.slug, str(write(tmp_path, "a.jsonl", line)))
    assert Candidate.objects.get().review_state == "accepted"


def test_bad_confidences_are_named_per_line_and_nothing_is_imported(no_audit, tmp_path):
    data = "prompt,response,confidence\nOne?,Yes.,high\nTwo?,No.,1.5\nThree?,,0.5\nFour?,Fine.,0.5\n"
    with pytest.raises(CommandError) as error:
        call_command("import_prompts", no_audit.slug, str(write(tmp_path, "bad.csv", data)))
    message = str(error.value)
    assert "line 2: confidence must be a number from 0 to 1, got 'high'" in message
    assert "line 3: confidence must be a number from 0 to 1, got '1.5'" in message
    assert "line 4: 'confidence' is given but 'response' is empty" in message
    assert "line 5" not in message
    assert not Task.objects.exists() and not Candidate.objects.exists()


def test_image_projects_keep_a_response_column_as_an_extra_field(project, tmp_path):
    call_command("import_prompts", project.slug, str(write(tmp_path, "i.csv", "prompt,response\na heron,x\n")))
    assert Task.objects.get().extra == {"response": "x"}
    assert not Candidate.objects.exists()
