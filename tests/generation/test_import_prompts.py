import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import PromptBatch, Task


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_csv_batch_becomes_tasks_with_its_extra_columns(project, tmp_path, capsys):
    path = write(tmp_path, "birds.csv", b'prompt,style\na heron,watercolour\n"a crow, at dusk",photo\n')
    call_command("import_prompts", project.slug, str(path))
    tasks = list(Task.objects.filter(project=project).order_by("pk"))
    assert [task.prompt for task in tasks] == ["a heron", "a crow, at dusk"]
    assert tasks[0].extra == {"style": "watercolour"}
    assert tasks[0].status == Task.Status.NEW and tasks[0].source == Task.Source.BATCH
    assert PromptBatch.objects.get().prompt_count == 2
    assert "Imported 2 prompts" in capsys.readouterr().out


def test_a_jsonl_batch_is_imported(project, tmp_path):
    lines = [json.dumps({"prompt": "a heron", "tag": 1}), "", json.dumps({"prompt": "an owl"})]
    call_command("import_prompts", project.slug, str(write(tmp_path, "b.jsonl", "\n".join(lines).encode())))
    assert sorted(Task.objects.values_list("prompt", flat=True)) == ["a heron", "an owl"]


def test_a_bad_file_imports_nothing_and_names_every_bad_line(project, tmp_path, settings):
    settings.PROMPT_MAX_CHARS = 50
    data = "prompt\na heron\n   \n" + "x" * 51 + "\na heron\nan owl\n"
    with pytest.raises(CommandError) as error:
        call_command("import_prompts", project.slug, str(write(tmp_path, "bad.csv", data.encode())))
    message = str(error.value)
    assert "line 3: empty prompt" in message
    assert "line 4: prompt is 51 characters; the limit is 50" in message
    assert "line 5: duplicate of the prompt on line 2" in message
    assert "line 6" not in message
    assert not Task.objects.exists() and not PromptBatch.objects.exists()


def test_wrong_encoding_is_reported_per_line(project, tmp_path):
    data = "prompt\na heron\nun café\n".encode("latin-1")
    with pytest.raises(CommandError, match=r"line 3: not valid UTF-8"):
        call_command("import_prompts", project.slug, str(write(tmp_path, "latin.csv", data)))
    assert not Task.objects.exists()


def test_a_missing_column_and_a_wrong_delimiter_are_explained(project, tmp_path):
    with pytest.raises(CommandError, match=r"line 1: missing column 'prompt'; found columns: 'text'"):
        call_command("import_prompts", project.slug, str(write(tmp_path, "a.csv", b"text\na heron\n")))
    with pytest.raises(CommandError, match=r"is the delimiter a comma\?"):
        call_command("import_prompts", project.slug, str(write(tmp_path, "b.csv", b"prompt;style\na heron;ink\n")))
    assert not Task.objects.exists()


def test_jsonl_lines_without_a_prompt_are_listed(project, tmp_path):
    data = b'{"prompt": "ok"}\n{"text": "no prompt"}\nnot json\n[1, 2]\n{"prompt": 3}\n'
    with pytest.raises(CommandError) as error:
        call_command("import_prompts", project.slug, str(write(tmp_path, "a.jsonl", data)))
    message = str(error.value)
    for expected in [
        "line 2: missing field 'prompt'",
        "line 3: not valid JSON",
        "line 4: each line must be",
        "line 5: 'prompt' must be a string",
    ]:
        assert expected in message
    assert not Task.objects.exists()


def test_prompts_already_in_the_project_are_duplicates(project, tmp_path):
    Task.objects.create(project=project, prompt="a heron", source=Task.Source.TYPED)
    with pytest.raises(CommandError, match="line 2: duplicate of a prompt already in this project"):
        call_command("import_prompts", project.slug, str(write(tmp_path, "a.csv", b"prompt\na heron\n")))
    assert Task.objects.count() == 1


def test_the_command_names_an_unknown_project(project, tmp_path):
    with pytest.raises(CommandError, match="No project with slug 'nope'. Known projects: birds"):
        call_command("import_prompts", "nope", str(write(tmp_path, "a.csv", b"prompt\nx\n")))


def test_staff_import_a_batch_in_the_admin_and_see_every_bad_line(client, staff, project):
    client.force_login(staff)
    url = reverse("admin:labeling_project_import", args=[project.pk])
    bad = SimpleUploadedFile("bad.csv", b'prompt\n\nx\n""\nx\n')
    response = client.post(url, {"file": bad, "name": ""})
    content = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported" in content
    assert "line 4: empty prompt" in content and "line 5: duplicate of the prompt on line 3" in content
    assert not Task.objects.exists()

    good = SimpleUploadedFile("good.csv", b"prompt\na heron\nan owl\n")
    response = client.post(url, {"file": good, "name": "Week 1"})
    assert response.status_code == 302
    assert PromptBatch.objects.get().name == "Week 1"
    assert Task.objects.count() == 2
