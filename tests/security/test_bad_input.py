"""The bad-input catalogue: every form, upload, command and endpoint gets its known bad values.

Each refusal names the problem (a status and a message the user can act on) and changes nothing in the
database: the row count of every model is the same before and after. Values that are legitimately
accepted (HTML or SQL-looking text in a prompt) are stored verbatim and rendered escaped.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.html import escape

from labeling.models import Candidate, Membership, Project, Review, Task
from tests.factories import make_user

HTML = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
SQL = "'; DROP TABLE labeling_task; -- OR 1=1"
BIG = "x" * 100_000
HUGE_NUMBER = "9" * 30
NUL = "a\x00b"
MB = 1024 * 1024


def row_counts() -> dict[str, int]:
    """How many rows every model has: a refusal must leave all of them as they were."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def changed(before: dict[str, int]) -> dict[str, int]:
    after = row_counts()
    return {label: after[label] - count for label, count in before.items() if after[label] != count}


@pytest.fixture
def world(db, settings) -> dict:
    settings.PROMPT_MAX_CHARS = 2000
    settings.PROMPT_IMPORT_MAX_BYTES = 10 * MB
    image_project = Project.objects.create(slug="birds", name="Birds", kind=Project.Kind.IMAGE)
    text_project = Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT, candidates_per_task=1)
    users = {
        "annotator": make_user("annie"),
        "reviewer": make_user("rita"),
        "staff": make_user("stella", is_staff=True, is_superuser=True),
    }
    for project in (image_project, text_project):
        Membership.objects.create(user=users["annotator"], project=project, role=Membership.Role.ANNOTATOR)
        Membership.objects.create(user=users["reviewer"], project=project, role=Membership.Role.REVIEWER)
    image_task = Task.objects.create(project=image_project, prompt="a heron", source="batch", status="ready")
    for index in range(2):
        Candidate.objects.create(task=image_task, index=index)
    other_task = Task.objects.create(project=image_project, prompt="a stork", source="batch", status="ready")
    foreign = Candidate.objects.create(task=other_task, index=0)
    text_task = Task.objects.create(project=text_project, prompt="Capital of Australia?", source="batch")
    answer = Candidate.objects.create(
        task=text_task, index=0, text="Maybe Sydney.", confidence=0.3, review_state="needs_review"
    )
    pair_task = Task.objects.create(project=text_project, prompt="Say hi", source="batch", status="ready")
    for index, text in enumerate(["Hi!", "Hello."]):
        Candidate.objects.create(task=pair_task, index=index, text=text, review_state="accepted")
    return {
        "users": users,
        "urls": {
            "prompt": reverse("generation-request", args=[image_project.slug]),
            "vote": reverse("labeling-vote", args=[image_task.candidates.first().uid]),
            "preference": reverse("labeling-preference", args=[image_task.pk]),
            "review": reverse("labeling-review-save", args=[answer.uid]),
            "review-diff": reverse("labeling-review-diff", args=[answer.uid]),
            "compare": reverse("labeling-pair-save", args=[pair_task.pk]),
            "login": reverse("accounts-login"),
            "import": reverse("admin:labeling_project_import", args=[image_project.pk]),
            "import-text": reverse("admin:labeling_project_import", args=[text_project.pk]),
        },
        "foreign_candidate": str(foreign.uid),
        "image_project": image_project,
        "text_project": text_project,
    }


@dataclass(frozen=True)
class Post:
    """One bad form post: who sends what where, the status and message they get, and the rows it may add."""

    endpoint: str
    data: dict
    status: int
    message: str
    actor: str | None = "annotator"
    follow: bool = False  # the refusal is a message on the page the form redirects to
    changes: dict = field(default_factory=dict)


POSTS = {
    # The prompt form (generate images).
    "prompt-empty": Post("prompt", {"prompt": ""}, 400, "Type a prompt first: it is empty."),
    "prompt-whitespace": Post("prompt", {"prompt": " \t\n "}, 400, "Type a prompt first: it is empty."),
    "prompt-100kB": Post("prompt", {"prompt": BIG}, 400, "The prompt is 100,000 characters; the limit is 2,000."),
    "prompt-nul": Post("prompt", {"prompt": NUL}, 400, "The prompt contains a NUL character"),
    "prompt-wrong-field": Post("prompt", {"prompt[]": "a heron"}, 400, "Type a prompt first: it is empty."),
    # A vote is one of three words.
    **{
        f"vote-{name}": Post("vote", {"value": value}, 400, "A vote must be one of: up, down, withdraw")
        for name, value in {
            "empty": "",
            "whitespace": "  ",
            "unknown": "sideways",
            "number": "1",
            "negative": "-1",
            "huge": HUGE_NUMBER,
            "nul": NUL,
            "html": HTML,
            "sql": SQL,
            "100kB": BIG,
        }.items()
    },
    "vote-missing": Post("vote", {}, 400, "A vote must be one of: up, down, withdraw"),
    # Best / tie / all bad.
    "pick-empty": Post("preference", {"choice": ""}, 400, "A pick must be one of: best, tie, all_bad"),
    "pick-sql": Post("preference", {"choice": SQL}, 400, "A pick must be one of: best, tie, all_bad"),
    "pick-best-without-candidate": Post("preference", {"choice": "best"}, 400, "Say which candidate is best."),
    "pick-best-not-a-uuid": Post("preference", {"choice": "best", "chosen": "42"}, 400, "is not a candidate id."),
    "pick-best-nul": Post("preference", {"choice": "best", "chosen": NUL}, 400, "is not a candidate id."),
    "pick-best-of-another-task": Post(
        "preference", {"choice": "best", "chosen": "<foreign>"}, 400, "That candidate belongs to another task."
    ),
    "pick-tie-naming-a-candidate": Post(
        "preference", {"choice": "tie", "chosen": "<foreign>"}, 400, "That candidate belongs to another task."
    ),
    # Review: accept / correct / reject.
    "review-no-decision": Post("review", {}, 400, "decision: This field is required.", actor="reviewer"),
    "review-unknown-decision": Post("review", {"decision": "approve"}, 400, "Select a valid choice", actor="reviewer"),
    "review-empty-correction": Post(
        "review", {"decision": "correct", "corrected_text": ""}, 400, "The correction is empty.", actor="reviewer"
    ),
    "review-whitespace-correction": Post(
        "review", {"decision": "correct", "corrected_text": " \n "}, 400, "The correction is empty.", actor="reviewer"
    ),
    "review-unchanged-correction": Post(
        "review",
        {"decision": "correct", "corrected_text": "Maybe Sydney."},
        400,
        "The correction is the same as the answer.",
        actor="reviewer",
    ),
    "review-huge-correction": Post(
        "review",
        {"decision": "correct", "corrected_text": "x" * 100_001},
        400,
        "at most 100000 characters",
        actor="reviewer",
    ),
    "review-nul-correction": Post(
        "review",
        {"decision": "correct", "corrected_text": NUL},
        400,
        "Null characters are not allowed.",
        actor="reviewer",
    ),
    "review-huge-reason": Post(
        "review", {"decision": "reject", "reason": BIG}, 400, "at most 2000 characters", actor="reviewer"
    ),
    "review-nul-reason": Post(
        "review", {"decision": "reject", "reason": NUL}, 400, "Null characters are not allowed.", actor="reviewer"
    ),
    "review-annotator": Post("review", {"decision": "accept"}, 403, "403 Forbidden", actor="annotator"),
    # The correction preview only renders a diff.
    "review-diff-100kB": Post("review-diff", {"corrected_text": BIG}, 200, "", actor="reviewer"),
    "review-diff-nul": Post("review-diff", {"corrected_text": NUL}, 200, "", actor="reviewer"),
    # A/B comparison of two answers.
    **{
        f"compare-{name}": Post(
            "compare", {"choice": value}, 200, "Unknown choice; choose one of: a, b, tie, both_bad.", follow=True
        )
        for name, value in {"empty": "", "unknown": "c", "nul": NUL, "sql": SQL, "huge": HUGE_NUMBER}.items()
    },
    # The login form: a refusal, counted by the throttle when a password was checked, and nothing else.
    **{
        f"login-{name}": Post(
            "login",
            {"username": value, "password": value},
            200,
            "Your username and password didn't match.",
            actor=None,
            changes={"axes.AccessAttempt": 1} if checked else {},
        )
        for name, value, checked in [("empty", "", False), ("nul", NUL, False)]
        + [("100kB", BIG, True), ("html", HTML, True), ("sql", SQL, True)]
    },
}


@pytest.mark.parametrize("case", POSTS.values(), ids=POSTS.keys())
def test_a_bad_form_post_is_refused_with_a_message_and_changes_nothing(client, world, case):
    if case.actor:
        client.force_login(world["users"][case.actor])
    data = {key: world["foreign_candidate"] if value == "<foreign>" else value for key, value in case.data.items()}
    before = row_counts()
    response = client.post(world["urls"][case.endpoint], data, follow=case.follow)
    assert response.status_code == case.status
    assert case.message in response.content.decode()
    assert changed(before) == case.changes


def test_a_prompt_that_was_not_utf8_is_refused(client, world):
    client.force_login(world["users"]["annotator"])
    before = row_counts()
    body = b"prompt=a%20heron%20%FF%FE"  # what a client that does not speak UTF-8 sends
    response = client.post(world["urls"]["prompt"], body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()
    assert changed(before) == {}


def test_a_request_over_the_upload_limit_is_refused_naming_the_limit(client, world, settings):
    settings.DEBUG = False  # Django's own error pages, as in production
    client.force_login(world["users"]["annotator"])
    before = row_counts()
    response = client.post(world["urls"]["prompt"], {"prompt": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes)" in page
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in page
    assert changed(before) == {}


@pytest.mark.parametrize("value", [HTML, SQL], ids=["html", "sql"])
def test_html_and_sql_looking_prompts_are_stored_verbatim_and_shown_escaped(client, world, value):
    client.force_login(world["users"]["annotator"])
    response = client.post(world["urls"]["prompt"], {"prompt": value})
    assert response.status_code == 302
    task = Task.objects.get(prompt=value)
    page = client.get(task.get_absolute_url()).content.decode()
    assert escape(value) in page
    assert value not in page


def test_a_correction_with_html_is_stored_verbatim_and_shown_escaped(client, world):
    client.force_login(world["users"]["reviewer"])
    response = client.post(world["urls"]["review"], {"decision": "correct", "corrected_text": HTML})
    assert response.status_code == 302
    assert Review.objects.get().corrected_text == HTML
    page = client.get(response["Location"]).content.decode()
    assert "window.__xss=1" in page and "<script>window" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/99999999999999999999999/",
        "/candidates/00000000-0000-0000-0000-000000000000/image",
        "/jobs/99999999999999999999999/status",
        "/tasks/99999999999999999999999/answers/?watching=1",
    ],
    ids=["huge-task", "unknown-candidate", "huge-job", "huge-task-panel"],
)
def test_ids_out_of_range_are_not_found(client, world, path):
    client.force_login(world["users"]["annotator"])
    assert client.get(path).status_code == 404


def test_a_huge_job_id_in_the_panels_poll_is_harmless(client, world):
    client.force_login(world["users"]["annotator"])
    task = Task.objects.get(prompt="Capital of Australia?")
    url = reverse("generation-text-panel", args=[task.pk])
    assert client.get(url, {"watching": HUGE_NUMBER}).status_code == 204
    assert client.get(url, {"watching": "-1"}).status_code == 200


# Prompt batch files: each is refused by the admin's import page and by `import_prompts` alike.
@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes
    message: str
    text_project: bool = False
    admin_message: str = ""  # when the admin's upload form refuses the file before the importer sees it


def jsonl(*rows) -> bytes:
    return "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows).encode()


UPLOADS = {
    "csv-wrong-delimiter": Upload(
        "p.csv", b"prompt;lang\na heron;en\n", "found columns: 'prompt;lang' (is the delimiter a comma?)"
    ),
    "csv-invalid-utf8": Upload("p.csv", b"prompt\na heron\na st\xf6rk\n", "line 3: not valid UTF-8 (byte 5)"),
    "csv-nul-in-prompt": Upload("p.csv", b"prompt\na he\x00ron\n", "line 2: contains a NUL character"),
    "csv-nul-in-another-column": Upload("p.csv", b"prompt,lang\na heron,e\x00n\n", "line 2: contains a NUL character"),
    "csv-prompt-already-in-the-project": Upload(
        "p.csv", b"prompt\na heron\n", "line 2: duplicate of a prompt already in this project"
    ),
    "csv-duplicated-rows": Upload(
        "p.csv", b"prompt\na crane\na stork\na crane\n", "line 4: duplicate of the prompt on line 2"
    ),
    "csv-empty": Upload("p.csv", b"", "missing column 'prompt'", admin_message="The submitted file is empty."),
    "csv-header-only": Upload("p.csv", b"prompt\n", "the file holds no prompts"),
    "csv-whitespace-prompt": Upload("p.csv", b"prompt\n   \n", "line 2: empty prompt"),
    "csv-100kB-prompt": Upload(
        "p.csv", b"prompt\n" + b"x" * 100_000 + b"\n", "line 2: prompt is 100,000 characters; the limit is 2,000"
    ),
    "csv-200kB-field": Upload("p.csv", b"prompt\n" + b"x" * 200_000 + b"\n", "unreadable CSV (field larger than"),
    "csv-extra-values": Upload("p.csv", b"prompt\na heron,oops\n", "line 2: more values than columns"),
    "wrong-file-type": Upload("p.txt", b"a heron\n", "unsupported file type '.txt'"),
    "jsonl-prompt-a-number": Upload("p.jsonl", jsonl({"prompt": 5}), "line 1: 'prompt' must be a string"),
    "jsonl-not-an-object": Upload("p.jsonl", jsonl([1, 2]), "line 1: each line must be a JSON object"),
    "jsonl-broken": Upload("p.jsonl", jsonl('{"prompt": "a heron"'), "line 1: not valid JSON"),
    "jsonl-nan": Upload("p.jsonl", jsonl('{"prompt": "a heron", "score": NaN}'), "the number NaN is not finite"),
    "jsonl-huge-number": Upload(
        "p.jsonl", jsonl('{"prompt": "a heron", "score": 1e400}'), "the number 1e400 is not finite"
    ),
    "jsonl-nested-nul": Upload(
        "p.jsonl", jsonl({"prompt": "a heron", "meta": {"note": NUL}}), "line 1: contains a NUL character"
    ),
    "answers-nul-response": Upload(
        "a.jsonl", jsonl({"prompt": "Capital?", "response": NUL}), "line 1: contains a NUL character", True
    ),
    "answers-lone-surrogate-response": Upload(
        "a.jsonl",
        b'{"prompt": "Capital?", "response": "Canb\\ud800erra"}\n',
        "line 1: contains a NUL character or a broken Unicode escape (a lone surrogate); remove it",
        True,
    ),
    "answers-confidence-a-word": Upload(
        "a.csv",
        b"prompt,response,confidence\nCapital?,Canberra,high\n",
        "confidence must be a number from 0 to 1",
        True,
    ),
    "answers-confidence-negative": Upload(
        "a.csv", b"prompt,response,confidence\nCapital?,Canberra,-1\n", "confidence must be a number from 0 to 1", True
    ),
    "answers-confidence-huge": Upload(
        "a.jsonl",
        jsonl({"prompt": "Capital?", "response": "Canberra", "confidence": int(HUGE_NUMBER)}),
        "confidence must be a number from 0 to 1",
        True,
    ),
}


@pytest.mark.parametrize("upload", UPLOADS.values(), ids=UPLOADS.keys())
def test_a_bad_prompt_file_uploaded_in_the_admin_imports_nothing_and_says_why(client, world, upload):
    client.force_login(world["users"]["staff"])
    url = world["urls"]["import-text" if upload.text_project else "import"]
    before = row_counts()
    response = client.post(url, {"file": SimpleUploadedFile(upload.name, upload.content)})
    assert response.status_code == 200
    page = response.content.decode()
    if upload.admin_message:
        assert upload.admin_message in page
    else:
        assert "Nothing was imported" in page
        assert escape(upload.message) in page
    assert changed(before) == {}


@pytest.mark.parametrize("upload", UPLOADS.values(), ids=UPLOADS.keys())
def test_a_bad_prompt_file_given_to_import_prompts_imports_nothing_and_says_why(world, tmp_path, upload):
    path = tmp_path / upload.name
    path.write_bytes(upload.content)
    project = world["text_project" if upload.text_project else "image_project"]
    before = row_counts()
    with pytest.raises(CommandError) as refusal:
        call_command("import_prompts", project.slug, str(path))
    assert "Nothing imported" in str(refusal.value)
    assert upload.message in str(refusal.value)
    assert changed(before) == {}


def test_a_50_mb_upload_is_refused_naming_the_limit(client, world):
    client.force_login(world["users"]["staff"])
    before = row_counts()
    upload = SimpleUploadedFile("big.csv", b"prompt\n" + b"a heron\n" * (50 * MB // 8))
    response = client.post(world["urls"]["import"], {"file": upload})
    assert response.status_code == 200
    assert "the limit is 10.0\xa0MB (10,485,760 bytes, PROMPT_IMPORT_MAX_BYTES)" in response.content.decode()
    assert changed(before) == {}


@pytest.mark.parametrize("value", [HTML, SQL], ids=["html", "sql"])
def test_html_and_sql_looking_prompts_import_verbatim(client, world, value):
    client.force_login(world["users"]["staff"])
    content = jsonl({"prompt": value})
    response = client.post(world["urls"]["import"], {"file": SimpleUploadedFile("p.jsonl", content)})
    assert response.status_code == 302
    assert Task.objects.filter(prompt=value).count() == 1


# Management commands and their arguments.
def sparse_file(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


COMMANDS = {
    "import-unknown-project": (("import_prompts", "nope", "<csv>"), "No project with slug 'nope'"),
    "import-nul-project": (("import_prompts", NUL, "<csv>"), "No project with slug 'a\\x00b'"),
    "import-missing-file": (("import_prompts", "birds", "/nonexistent/p.csv"), "is not a readable file"),
    "import-a-folder": (("import_prompts", "birds", "<dir>"), "is not a readable file"),
    "import-50MB-file": (
        ("import_prompts", "birds", "<50MB>"),
        "is 52,428,800 bytes; the limit is 10,485,760 bytes (PROMPT_IMPORT_MAX_BYTES)",
    ),
    "import-missing-arguments": (("import_prompts",), "the following arguments are required: project, file"),
    "export-unknown-project": (("export_oxen", "--project", "nope"), "No project with slug 'nope'"),
    "export-nul-project": (("export_oxen", "--project", NUL), "No project with slug 'a\\x00b'"),
    "export-unknown-option": (("export_oxen", "--everything"), "unrecognized arguments: --everything"),
    "demo-model-onto-a-file": (("build_demo_model", "<file>"), "exists and is not a folder"),
    "demo-model-under-a-file": (("build_demo_model", "<file>/model"), "Cannot write the demo model to"),
    "seed-demo-with-arguments": (("seed_demo", "--users", "-5"), "unrecognized arguments: --users -5"),
    "leaderboard-unknown-project": (("leaderboard", "nope"), "No project with the slug 'nope'; the projects are:"),
    "leaderboard-unknown-format": (("leaderboard", "birds", "--format", "xml"), "invalid choice: 'xml'"),
}


@pytest.mark.parametrize(("arguments", "message"), COMMANDS.values(), ids=COMMANDS.keys())
def test_a_command_given_bad_arguments_fails_with_a_message_and_changes_nothing(world, tmp_path, arguments, message):
    csv_file = tmp_path / "p.csv"
    csv_file.write_bytes(b"prompt\na heron\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a model")
    placeholders = {
        "<csv>": str(csv_file),
        "<dir>": str(tmp_path),
        "<50MB>": str(sparse_file(tmp_path / "big.csv", 50 * MB)),
        "<file>": str(a_file),
        "<file>/model": str(a_file / "model"),
    }
    before = row_counts()
    with pytest.raises(CommandError) as refusal:
        call_command(*(placeholders.get(argument, argument) for argument in arguments))
    assert message in str(refusal.value)
    assert changed(before) == {}
