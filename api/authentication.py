"""API tokens in the ``Authorization: Bearer <token>`` header (the token rules live in accounts/tokens.py)."""

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from accounts.tokens import ApiTokenRefused, api_token_check

KEYWORD = "Bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """``request.user`` is the token's owner and ``request.auth`` the ApiToken; requests without the header fall
    through to the session (browser use, CSRF enforced by DRF's SessionAuthentication)."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise AuthenticationFailed(f"Malformed Authorization header: send '{KEYWORD} <token>', one token.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Malformed API token: it holds characters a token never has.") from None
        try:
            token = api_token_check(raw=raw)
        except ApiTokenRefused as exc:
            raise AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes refusals 401 with a challenge, instead of 403.
        return f'{KEYWORD} realm="api"'
