"""bench/vote_load.py's URLs: Corral's, plus the floor: the least a vote can cost on the same Django stack.

``POST /bench/floor`` goes through every middleware of the site (login required, CSRF checked, the session
and user loaded) and upserts one vote row, with none of the vote's rules and no template. Served only when
``bench.settings`` is the settings module.
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from corral.urls import urlpatterns as corral_urlpatterns

FLOOR_SQL = (
    "INSERT INTO labeling_vote (user_id, candidate_id, value, created_at, updated_at) VALUES (%s, %s, 1, %s, %s)"
    " ON CONFLICT (user_id, candidate_id) DO UPDATE SET updated_at = EXCLUDED.updated_at"
)


@require_POST
def floor(request):
    candidate = request.POST.get("candidate", "")
    if not candidate.isdigit():
        return HttpResponse("Say which candidate.", status=400)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, [request.user.pk, int(candidate), now, now])
    return HttpResponse(status=204)


urlpatterns = [path("bench/floor", floor, name="bench-floor"), *corral_urlpatterns]
