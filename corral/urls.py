from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login
from corral import health

# Django tries these in order: the annotators' pages, the busiest, first.
urlpatterns = [
    path("", include("labeling.urls")),
    path("healthz", health.healthz, name="corral-healthz"),
    # Before the admin's own URLs: its login page shares the site's throttled one.
    path("admin/login/", admin_login, name="accounts-admin-login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("api.urls")),
    path("", include("generation.text_urls")),
    path("", include("generation.urls")),
    path("", include("quality.urls")),
    path("", include("api.webhook_urls")),
    path("", include("quality.leaderboard_urls")),
]

handler400 = "corral.errors.bad_request_explained"
handler500 = "corral.errors.server_error"
