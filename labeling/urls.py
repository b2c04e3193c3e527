from django.urls import include, path

from labeling import views

# Django tries these in order: the busiest request, a vote, first.
urlpatterns = [
    path("candidates/<uuid:uid>/vote", views.candidate_vote, name="labeling-vote"),
    path("", views.dashboard, name="labeling-dashboard"),
    path("p/<slug:slug>/", views.project_detail, name="labeling-project"),
    path("p/<slug:slug>/next", views.task_next, name="labeling-task-next"),
    path("tasks/<int:pk>/", views.task_detail, name="labeling-task"),
    path("tasks/<int:pk>/candidates", views.task_candidates, name="labeling-task-candidates"),
    path("tasks/<int:pk>/history", views.task_history_page, name="labeling-task-history"),
    path("tasks/<int:pk>/preference", views.task_preference, name="labeling-preference"),
    path("tasks/<int:pk>/skip", views.task_skip, name="labeling-task-skip"),
    path("candidates/<uuid:uid>/image", views.candidate_image, name="labeling-candidate-image"),
    path("", include("labeling.review_urls")),
]
