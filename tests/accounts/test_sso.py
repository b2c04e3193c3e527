"""Single sign-on settings and the login page, without a browser: what is offered, and local passwords."""

import pytest
from django.urls import reverse

from accounts.sso import provider_configuration
from tests.corral.test_deploy import run_manage
from tests.factories import make_user

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sso_on(settings):
    settings.SSO_ENABLED, settings.OIDC_PROVIDER_NAME = True, "Example ID"
    settings.OIDC_ISSUER_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "corral", "secret"
    provider_configuration.cache_clear()
    yield
    provider_configuration.cache_clear()


def test_without_sso_the_login_page_offers_only_the_password_and_the_sso_urls_do_not_exist(client, db):
    page = client.get(reverse("accounts-login")).content.decode()
    assert "Log in with" not in page
    assert 'name="password"' in page
    assert client.get(reverse("accounts-sso-start")).status_code == 404
    assert client.get(reverse("accounts-sso-callback"), {"code": "x", "state": "y"}).status_code == 404


def test_with_sso_the_login_page_offers_the_provider_and_passwords_keep_working(client, db, sso_on):
    make_user("annie")
    page = client.get(reverse("accounts-login"), {"next": "/p/birds/"}).content.decode()
    assert "Log in with Example ID" in page
    assert f'href="{reverse("accounts-sso-start")}?next=/p/birds/"' in page
    response = client.post(reverse("accounts-login"), {"username": "annie", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_passwords_can_be_turned_off_when_sso_is_on(client, db, sso_on, settings):
    settings.PASSWORD_LOGIN_ENABLED = False
    make_user("annie")
    page = client.get(reverse("accounts-login")).content.decode()
    assert "Log in with Example ID" in page
    assert 'name="password"' not in page
    response = client.post(reverse("accounts-login"), {"username": "annie", "password": PASSWORD})
    assert response.status_code == 403
    assert "Log-in with a password is turned off on this site; log in with Example ID." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_unreachable_provider_sends_the_person_back_to_the_login_page_with_a_message(client, db, sso_on):
    response = client.get(reverse("accounts-sso-start"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts-login")
    assert "Example ID could not be reached" in response.content.decode()


def test_an_answer_without_a_login_under_way_is_refused(client, db, sso_on):
    response = client.get(reverse("accounts-sso-callback"), {"code": "stolen", "state": "made-up"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts-login")
    assert "did not confirm who you are" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_ISSUER_URL": "https://id.example.org"}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set too"),
        ({"PASSWORD_LOGIN": "0"}, "nobody could log in"),
    ],
)
def test_an_sso_configuration_that_cannot_work_is_refused_at_start(tmp_path, env, message):
    result = run_manage("check", env={"DEBUG": "1", **env}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_with_sso_pass_check_deploy(tmp_path):
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 64 + "-production-like-secret",
        "ALLOWED_HOSTS": "corral.example.org",
        "OIDC_ISSUER_URL": "https://id.example.org",
        "OIDC_CLIENT_ID": "corral",
        "OIDC_CLIENT_SECRET": "s" * 40,
        "PASSWORD_LOGIN": "0",
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_deactivated_account_logged_in_by_sso_is_logged_out(client, db, sso_on):
    carol = make_user("carol")
    client.force_login(carol, backend="accounts.sso.SsoBackend")
    assert client.get(reverse("labeling-dashboard")).status_code == 200
    carol.is_active = False
    carol.save()
    assert client.get(reverse("labeling-dashboard")).status_code == 302
