from django.urls import include, path

from labeling import views

urlpatterns = [
    path("", views.dashboard, name="labeling-dashboard"),
    path("p/<slug:slug>/", views.project_detail, name="labeling-project"),
    path("tasks/<int:pk>/", views.task_detail, name="labeling-task"),
    path("tasks/<int:pk>/candidates", views.task_candidates, name="labeling-task-candidates"),
    path("candidates/<uuid:uid>/image", views.candidate_image, name="labeling-candidate-image"),
    path("", include("labeling.review_urls")),
]
