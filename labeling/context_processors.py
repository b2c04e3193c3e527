from django.http import HttpRequest

from labeling.models import Membership


def navigation(request: HttpRequest) -> dict:
    """Whether to show the review link: only to people who may review somewhere."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    can_review = (
        user.is_superuser
        or Membership.objects.filter(user=user, role__in=[Membership.Role.REVIEWER, Membership.Role.MANAGER]).exists()
    )
    return {"nav_can_review": can_review}
