from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from labeling.models import Membership


def navigation(request: HttpRequest) -> dict:
    """Whether to show the review link: only to people who may review somewhere.

    Lazy, so partials that never show the navigation (a vote's buttons) cost no query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def can_review() -> bool:
        return (
            user.is_superuser
            or Membership.objects.filter(
                user=user, role__in=[Membership.Role.REVIEWER, Membership.Role.MANAGER]
            ).exists()
        )

    return {"nav_can_review": SimpleLazyObject(can_review)}
