from django.urls import path

from quality import views
from quality.models import QualityAction

urlpatterns = [
    path("p/<slug:slug>/quality/", views.quality_page, name="quality-page"),
    path("p/<slug:slug>/quality/recompute", views.quality_recompute, name="quality-recompute"),
    path("p/<slug:slug>/quality/people/<int:user_id>/", views.quality_annotator, name="quality-annotator"),
    *(
        path(
            f"p/<slug:slug>/quality/people/<int:user_id>/{kind}",
            views.quality_member_action,
            {"kind": kind},
            name=f"quality-{kind}",
        )
        for kind in QualityAction.Kind.values
    ),
]
