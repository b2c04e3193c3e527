"""What a request may do beyond being authenticated; project roles are checked by labeling/access.py."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import ApiToken


class TokenScopeAllows(BasePermission):
    """A read token reads only; anything else needs a read-and-write token. Sessions are not limited here."""

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and request.method not in SAFE_METHODS and not token.allows_writes:
            self.message = (
                f"This token ({token.name}) has the read scope; {request.method} needs a read-and-write token."
            )
            return False
        return True
