from django.urls import path

from generation import views

urlpatterns = [
    path("p/<slug:slug>/generate", views.prompt_submit, name="generation-request"),
    path("jobs/<int:pk>/status", views.job_status, name="generation-job-status"),
    path("tasks/<int:pk>/retry", views.task_retry, name="generation-retry"),
]
