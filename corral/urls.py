from django.contrib import admin
from django.urls import include, path

from corral import health

urlpatterns = [
    path("healthz", health.healthz, name="corral-healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("labeling.urls")),
    path("", include("generation.text_urls")),
    path("", include("generation.urls")),
]

handler500 = "corral.errors.server_error"
