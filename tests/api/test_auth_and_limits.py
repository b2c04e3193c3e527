"""Who may call the API, with what, and how often."""

from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from labeling.models import PromptBatch
from tests.api.conftest import api, token_for

ROWS = {"rows": [{"prompt": "a heron"}]}


def test_anonymous_callers_get_401_with_a_bearer_challenge(project):
    answer = Client().get(reverse("api-projects"))
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'
    assert answer.json()["detail"] == "Authentication credentials were not provided."


def test_a_read_token_reads_but_may_not_write(manager, project):
    client = api(manager, scope=ApiToken.Scope.READ)
    assert client.get(reverse("api-project", args=[project.slug])).status_code == 200
    answer = client.post(reverse("api-batches", args=[project.slug]), ROWS, format="json")
    assert answer.status_code == 403
    assert answer.json()["detail"].endswith("has the read scope; POST needs a read-and-write token.")
    assert not PromptBatch.objects.exists()


def test_a_token_on_another_persons_project_finds_nothing(outsider, project):
    client = api(outsider)
    for url in (reverse("api-project", args=[project.slug]), reverse("api-tasks", args=[project.slug])):
        answer = client.get(url)
        assert answer.status_code == 404
        assert answer.json()["detail"] == "No such object in your projects."
    assert client.post(reverse("api-batches", args=[project.slug]), ROWS, format="json").status_code == 404
    assert not PromptBatch.objects.exists()


def test_a_logged_in_browser_uses_the_api_with_its_session_and_csrf_token(manager, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.get(reverse("api-projects")).status_code == 200
    url = reverse("api-batches", args=[project.slug])
    refused = client.post(url, ROWS, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "CSRF Failed: CSRF cookie not set."
    client.get(reverse("accounts-account"))  # sets the CSRF cookie, as any page does
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(url, ROWS, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201, accepted.json()


def test_each_token_is_limited_with_a_429_and_retry_after(manager, project, settings):
    settings.API_REQUESTS_PER_MINUTE = 2
    client, other = api(manager), api(manager)
    url = reverse("api-projects")
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Too many requests: at most 2 a minute per API token")
    # The limit is the token's: another token of the same person is not held back.
    assert other.get(url).status_code == 200


def test_a_token_of_a_deactivated_account_is_refused(annotator, project):
    secret = token_for(annotator)
    annotator.is_active = False
    annotator.save()
    answer = Client().get(reverse("api-projects"), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 401
    assert "deactivated" in answer.json()["detail"]
