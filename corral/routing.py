"""Websocket routes of every app, gathered for corral.asgi."""

from django.urls import path

from generation.consumers import JobProgressConsumer
from generation.text_routing import text_websocket_urlpatterns

websocket_urlpatterns: list = [
    path("ws/jobs/<int:job_id>/", JobProgressConsumer.as_asgi()),
    *text_websocket_urlpatterns,
]
