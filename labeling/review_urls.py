"""URLs of the reviewer pages (LLM answers) and of answer comparison."""

from django.urls import path

from labeling import review_views

urlpatterns = [
    path("review/", review_views.review_any, name="labeling-review-any"),
    path("p/<slug:slug>/review/", review_views.review_next, name="labeling-review-next"),
    path("review/<uuid:uid>/", review_views.review_answer, name="labeling-review-answer"),
    path("review/<uuid:uid>/save", review_views.review_save, name="labeling-review-save"),
    path("review/<uuid:uid>/saved", review_views.review_saved, name="labeling-review-saved"),
    path("review/<uuid:uid>/diff", review_views.review_diff_preview, name="labeling-review-diff"),
    path("p/<slug:slug>/compare/", review_views.pair_next, name="labeling-pair-next"),
    path("tasks/<int:pk>/compare", review_views.pair_save, name="labeling-pair-save"),
]
