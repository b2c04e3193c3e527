"""Bad input to the API: each refused with a 4xx whose detail names the problem, and nothing written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.api.conftest import api
from tests.security.test_bad_input import changed, row_counts


@pytest.fixture
def batches_url(project) -> str:
    return reverse("api-batches", args=[project.slug])


def refused(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["detail"]


def test_malformed_json_is_refused_with_the_parsers_reason(manager, batches_url):
    client = api(manager)
    before = row_counts()
    answer = client.post(batches_url, b'{"rows": [', content_type="application/json")
    assert refused(answer, 400).startswith("JSON parse error - ")
    assert changed(before) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"rows": "a heron"}, 'rows: Expected a list of items but got type "str".'),
        ({"rows": []}, "rows: This list may not be empty."),
        ({"rows": [{"prompt": "a"}], "generate": "maybe"}, "generate: Must be a valid boolean."),
        ({"rows": [{"prompt": "a"}], "name": ["x"]}, "name: Not a valid string."),
        ({}, "rows: This field is required."),
        ([{"prompt": "a"}], "non_field_errors: Invalid data. Expected a dictionary, but got list."),
    ],
)
def test_wrong_types_are_refused_naming_the_field(manager, batches_url, body, message):
    client = api(manager)
    before = row_counts()
    assert refused(client.post(batches_url, body, format="json"), 400) == f"Invalid request: {message}"
    assert changed(before) == {}


def test_unknown_fields_are_refused_by_name(manager, batches_url):
    client = api(manager)
    before = row_counts()
    answer = client.post(batches_url, {"rows": [{"prompt": "a"}], "generte": True}, format="json")
    detail = refused(answer, 400)
    assert detail.startswith("Invalid request: generte: Unknown field: not taken here (the fields are: generate,")
    assert changed(before) == {}


def test_unknown_query_parameters_are_refused_by_name(manager, project):
    client = api(manager)
    detail = refused(client.get(reverse("api-tasks", args=[project.slug]), {"status": "ready"}), 400)
    assert detail.startswith("Invalid request: status: Unknown field: not taken here")
    detail = refused(client.get(reverse("api-project", args=[project.slug]), {"expand": "all"}), 400)
    assert detail == "This endpoint takes no query parameters (got: expand)."


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor: Not a cursor this API gave out"),
        ({"page_size": "0"}, "page_size: Ensure this value is greater than or equal to 1."),
        ({"page_size": "5000"}, "page_size: At most 1000 rows a page."),
        ({"updated_since": "yesterday"}, "updated_since: Datetime has wrong format."),
        ({"state": "done"}, 'state: "done" is not a valid choice.'),
    ],
)
def test_bad_page_parameters_are_refused_naming_the_parameter(manager, project, params, message):
    answer = api(manager).get(reverse("api-tasks", args=[project.slug]), params)
    assert refused(answer, 400).startswith(f"Invalid request: {message}")


def test_an_oversized_body_is_refused_with_the_limit(manager, batches_url, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api(manager)
    before = row_counts()
    body = {"rows": [{"prompt": f"prompt {n}"} for n in range(200)]}
    detail = refused(client.post(batches_url, body, format="json"), 413)
    assert "the API accepts at most 1,000 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE). Nothing was saved" in detail
    assert changed(before) == {}


def test_a_body_on_a_post_that_takes_none_is_refused(manager, project):
    answer = api(manager).post(reverse("api-exports", args=[project.slug]), {"project": "x"}, format="json")
    assert refused(answer, 400) == "This endpoint takes no request body: send none."


def test_a_file_that_is_not_csv_or_jsonl_is_refused_like_in_the_admin(manager, batches_url):
    client = api(manager)
    before = row_counts()
    upload = SimpleUploadedFile("prompts.xlsx", b"PK\x03\x04")
    answer = client.post(batches_url, {"file": upload}, format="multipart")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"line": 0, "reason": "unsupported file type '.xlsx': upload a .csv or .jsonl file"}
    ]
    assert changed(before) == {}


def test_a_row_with_half_a_character_is_refused_with_its_line(manager, batches_url):
    client = api(manager)
    before = row_counts()
    body = b'{"rows": [{"prompt": "a heron"}, {"prompt": "a \\ud800 stork"}]}'
    answer = client.post(batches_url, body, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"line": 2, "reason": "contains a NUL character or a broken Unicode escape (a lone surrogate); remove it"}
    ]
    assert changed(before) == {}
