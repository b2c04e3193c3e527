"""Websocket routes of every app, gathered for corral.asgi."""

from django.urls import path

from generation.consumers import JobProgressConsumer

websocket_urlpatterns: list = [
    path("ws/jobs/<int:job_id>/", JobProgressConsumer.as_asgi()),
]
