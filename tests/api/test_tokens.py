"""API tokens: made on the account page and shown once, stored as a digest, refused once revoked or expired."""

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create
from tests.api.conftest import token_for


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_account_page_is_linked_from_the_navigation_and_needs_a_login(annotator):
    assert Client().get(reverse("accounts-account"))["Location"].startswith(reverse("accounts-login"))
    page = logged_in(annotator).get(reverse("labeling-dashboard")).content.decode()
    assert f'href="{reverse("accounts-account")}"' in page


def test_a_person_creates_a_token_sees_it_once_and_the_api_takes_it(annotator):
    client = logged_in(annotator)
    response = client.post(reverse("accounts-token-create"), {"name": "notebook", "scope": "read", "lifetime": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_token_secret"]
    assert secret.startswith("corral_") and secret in response.content.decode()

    token = ApiToken.objects.get(user=annotator)
    assert (token.name, token.scope) == ("notebook", ApiToken.Scope.READ)
    assert token.expires_at - timezone.now() > timedelta(days=29)
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret[len("corral_") :].split("_")[0] == token.prefix
    # Shown once: the account page lists the token by its prefix only.
    page = client.get(reverse("accounts-account")).content.decode()
    assert token.prefix in page and secret not in page

    answer = Client().get(reverse("api-projects"), **bearer(secret))
    assert answer.status_code == 200
    assert [project["slug"] for project in answer.json()] == ["birds"]


def test_a_second_live_token_with_the_same_name_is_refused_by_name(annotator):
    client = logged_in(annotator)
    client.post(reverse("accounts-token-create"), {"name": "ci", "scope": "read"})
    response = client.post(reverse("accounts-token-create"), {"name": "ci", "scope": "read"})
    assert response.status_code == 400
    assert "You already have a token named &#x27;ci&#x27;" in response.content.decode()
    assert ApiToken.objects.filter(user=annotator).count() == 1


def test_a_revoked_token_is_refused_at_once_with_when_it_was_revoked(annotator):
    secret = token_for(annotator, name="old")
    token = ApiToken.objects.get(user=annotator)
    response = logged_in(annotator).post(reverse("accounts-token-revoke", args=[token.pk]))
    assert response.status_code == 302
    answer = Client().get(reverse("api-projects"), **bearer(secret))
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'
    assert answer.json()["detail"].startswith("This API token (old) was revoked on ")


def test_an_expired_token_is_refused_with_when_it_expired(annotator):
    _, secret = api_token_create(user=annotator, name="short", expires_at=timezone.now() - timedelta(minutes=1))
    answer = Client().get(reverse("api-projects"), **bearer(secret))
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith("This API token (short) expired on ")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer corral_00000000_not-a-real-secret", "Unknown API token."),
        ("Bearer something-else", "Malformed API token"),
        ("Bearer two tokens", "Malformed Authorization header"),
    ],
)
def test_unknown_and_malformed_tokens_are_refused_with_the_reason(annotator, header, message):
    token_for(annotator)
    answer = Client().get(reverse("api-projects"), HTTP_AUTHORIZATION=header)
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith(message)


def test_a_token_with_a_changed_secret_is_refused(annotator):
    secret = token_for(annotator)
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert Client().get(reverse("api-projects"), **bearer(tampered)).status_code == 401


def test_nobody_revokes_another_persons_token(annotator, manager):
    token_for(annotator)
    token = ApiToken.objects.get(user=annotator)
    assert logged_in(manager).post(reverse("accounts-token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_staff_see_and_revoke_tokens_in_the_admin(annotator, staff):
    secret = token_for(annotator, name="leaked")
    token = ApiToken.objects.get(user=annotator)
    client = logged_in(staff)
    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "leaked" in listing and token.prefix in listing and token.digest not in listing
    response = client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert Client().get(reverse("api-projects"), **bearer(secret)).status_code == 401
