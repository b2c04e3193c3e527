"""Single sign-on in a real browser through a real OpenID provider (oidc-provider on loopback)."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import User
from tests.accounts.conftest import PROVIDER_NAME
from tests.factories import session_store

pytestmark = pytest.mark.browser


@pytest.fixture
def new_visitor(browser, asgi_server):
    """``new_visitor()`` → a page in a browser context of its own (its own cookies, here and at the provider)."""
    contexts = []

    def _new():
        contexts.append(context := browser.new_context(base_url=asgi_server))
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def visitor(new_visitor):
    return new_visitor()


def sign_in_at_provider(page, login: str) -> None:
    """The provider's own development log-in and consent pages: any name and password pass."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("whatever the provider accepts")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()


def start_sso(page) -> None:
    """From the site's login page to the provider's (which asks who you are unless it remembers you)."""
    page.goto("/")
    page.get_by_role("link", name=f"Log in with {PROVIDER_NAME}").click()


def session_of(page):
    (cookie,) = [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    return session_store(cookie["value"])


def test_a_first_sso_login_creates_the_account_and_lands_on_the_dashboard_with_no_project(
    visitor, asgi_server, oidc_provider
):
    start_sso(visitor)
    expect(visitor.locator("input[name=login]")).to_be_visible()
    assert visitor.url.startswith(oidc_provider)
    sign_in_at_provider(visitor, "carol")

    visitor.wait_for_url(f"{asgi_server}/")
    expect(visitor.locator(".account")).to_contain_text("carol")
    carol = User.objects.get(username="carol")
    assert carol.email == "carol@sso.example.org"
    assert (carol.first_name, carol.last_name) == ("carol", "Example")
    assert not carol.has_usable_password()
    assert not carol.memberships.exists()

    # The second log-in (the provider remembers carol and asks nothing) finds the same account.
    visitor.get_by_role("button", name="Log out").click()
    start_sso(visitor)
    visitor.wait_for_url(f"{asgi_server}/")
    expect(visitor.locator(".account")).to_contain_text("carol")
    assert User.objects.filter(email="carol@sso.example.org").count() == 1


def test_an_answer_with_a_state_this_browser_did_not_start_is_refused(new_visitor, asgi_server, oidc_provider):
    """Login CSRF: the provider's answer to someone else's log-in, opened in a browser with a log-in of its own
    under way."""
    elsewhere, callbacks = new_visitor(), []
    elsewhere.on("request", lambda request: callbacks.append(request.url) if "/sso/callback/" in request.url else None)
    start_sso(elsewhere)
    sign_in_at_provider(elsewhere, "mallory")
    elsewhere.wait_for_url(f"{asgi_server}/")

    visitor = new_visitor()
    start_sso(visitor)
    expect(visitor.locator("input[name=login]")).to_be_visible()
    response = visitor.goto(callbacks[0])
    assert response.status == 400
    expect(visitor.locator("#sso-refused")).to_contain_text("does not belong to this browser's log-in")
    visitor.goto("/")
    assert "/accounts/login/" in visitor.url


def test_an_id_token_with_a_nonce_this_browser_did_not_send_is_refused(visitor, asgi_server, oidc_provider):
    start_sso(visitor)
    expect(visitor.locator("input[name=login]")).to_be_visible()
    session = session_of(visitor)
    (state,) = session["oidc_states"]
    session["oidc_states"][state]["nonce"] = "a-nonce-the-provider-never-saw"
    session.save()

    sign_in_at_provider(visitor, "erin")
    expect(visitor.locator("#sso-refused")).to_contain_text("does not belong to this browser's log-in")
    assert not User.objects.filter(username="erin").exists()
    visitor.goto("/")
    assert "/accounts/login/" in visitor.url
