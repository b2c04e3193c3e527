"""URLs of LLM answer generation (the task page's answer panel)."""

from django.urls import path

from generation import text_views

urlpatterns = [
    path("tasks/<int:pk>/answers/", text_views.text_panel, name="generation-text-panel"),
    path("tasks/<int:pk>/answers/generate", text_views.text_generate, name="generation-text-generate"),
    path("p/<slug:slug>/answers/generate", text_views.text_generate_batch, name="generation-text-generate-batch"),
]
