"""Websocket routes of every app, gathered for corral.asgi."""

from django.urls import path

from generation.consumers import JobUpdatesConsumer

websocket_urlpatterns: list = [
    path("ws/jobs/<int:job_id>/", JobUpdatesConsumer.as_asgi()),
    path("ws/tasks/<int:pk>/llm/", JobUpdatesConsumer.as_asgi()),
]
