"""Single sign-on with OpenID Connect, through mozilla-django-oidc; on when OIDC_ISSUER_URL is set.

The library runs the authorization code flow (with PKCE) and checks the state and the nonce, the ID token's
signature and its expiry. What is added here: the provider's endpoints come from its discovery document
(``<issuer>/.well-known/openid-configuration``), read on first use and kept by the process; the ID token must come
from that issuer for this client (``iss``, ``aud``), the user info must be about the same subject, and an e-mail
address the provider has not verified never logs in as an existing account. A first log-in creates the account,
with no project: a manager adds the person to projects as for any account.
"""

import functools
import logging
import re

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.functional import lazy
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.backends import CachedUserMixin

logger = logging.getLogger(__name__)

# The library's endpoint settings, and the discovery document's names for them.
DISCOVERED_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
REFUSED_MESSAGE = "Single sign-on did not log you in: {reason} Try again, or ask an administrator."


@functools.cache
def provider_configuration(issuer: str) -> dict:
    """The provider's discovery document; its ``issuer`` must be the configured one (OpenID Connect Discovery 4.3).
    A failed read is not kept, so the next log-in tries again."""
    response = requests.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
    response.raise_for_status()
    configuration = response.json()
    if configuration.get("issuer") != issuer:
        named = configuration.get("issuer")
        raise ImproperlyConfigured(f"OIDC_ISSUER_URL is {issuer!r}; the provider's discovery document names {named!r}.")
    return configuration


def _discovered(name: str) -> str:
    return provider_configuration(settings.OIDC_ISSUER_URL)[name]


def sso_setting(attr: str, *default):
    """The library's settings; its endpoints read from the discovery document when first used, not before."""
    if attr in DISCOVERED_SETTINGS:
        return lazy(_discovered, str)(DISCOVERED_SETTINGS[attr])
    return import_from_settings(attr, *default)


def username_for_claims(email: str | None, claims: dict) -> str:
    """OIDC_USERNAME_ALGO: the provider's preferred user name (or the e-mail's local part), made unique."""
    wanted = claims.get("preferred_username") or (email or "").split("@")[0] or claims.get("sub", "")
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
    users, username, number = get_user_model().objects, base, 1
    while users.filter(username__iexact=username).exists():
        number += 1
        username = f"{base}-{number}"
    return username


class SsoBackend(CachedUserMixin, OIDCAuthenticationBackend):
    """The library's backend; users cached as password log-ins' are, and inactive ones refused (the library's own
    ``get_user`` skips Django's is_active check: a deactivated account would stay logged in)."""

    get_settings = staticmethod(sso_setting)

    def authenticate(self, request, **kwargs):
        if not settings.SSO_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if payload.get("iss") != _discovered("issuer") or self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was not issued by the configured provider for this client.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The provider's user info is about another subject than its ID token.")
        return claims

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("email")) and claims.get("email_verified") is not False

    def create_user(self, claims):
        user = super().create_user(claims)
        user.first_name = (claims.get("given_name") or "")[:150]
        user.last_name = (claims.get("family_name") or "")[:150]
        user.save(update_fields=["first_name", "last_name"])
        logger.info("Single sign-on created the account %s", user.public_id)
        return user


def _provider_unreachable(request):
    messages.error(request, REFUSED_MESSAGE.format(reason=f"{settings.OIDC_PROVIDER_NAME} could not be reached."))
    return redirect("accounts-login")


class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with a new state, nonce and PKCE challenge kept in the session."""

    get_settings = staticmethod(sso_setting)

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except (requests.RequestException, ImproperlyConfigured, KeyError, ValueError) as exc:
            logger.warning("Single sign-on could not start: %s", exc)
            return _provider_unreachable(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: the library checks state and nonce, then logs the person in."""

    get_settings = staticmethod(sso_setting)

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # A state this browser never started, a replayed answer or a wrong nonce: refused, nobody logged in.
            logger.warning("Single sign-on refused: %s", exc)
            reason = REFUSED_MESSAGE.format(reason="the provider's answer does not belong to this browser's log-in.")
            return render(request, "accounts/sso_refused.html", {"reason": reason}, status=400)
        except requests.RequestException as exc:
            logger.warning("Single sign-on failed talking to the provider: %s", exc)
            return _provider_unreachable(request)

    def login_failure(self):
        messages.error(self.request, REFUSED_MESSAGE.format(reason="the provider did not confirm who you are."))
        return super().login_failure()
