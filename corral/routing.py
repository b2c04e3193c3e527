"""Websocket routes of every app, gathered for corral.asgi."""

websocket_urlpatterns: list = []
