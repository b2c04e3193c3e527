"""Corral's URLs plus ``bench/floor``: the least a vote can cost (authenticate, write one row)."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from corral.urls import urlpatterns as corral_urlpatterns
from labeling.models import Vote


@require_POST
def floor(request):
    """Authenticated (session, CSRF and login middleware as for every page) upsert of one vote row."""
    Vote.objects.bulk_create(
        [Vote(user=request.user, candidate_id=int(request.POST["candidate"]), value=Vote.Value.UP)],
        update_conflicts=True,
        unique_fields=["user", "candidate"],
        update_fields=["value", "updated_at"],
    )
    return HttpResponse(status=204)


urlpatterns = [path("bench/floor", floor, name="bench-floor"), *corral_urlpatterns]
