"""Websocket routes of every app, gathered for corral.asgi."""

from generation.text_routing import text_websocket_urlpatterns

websocket_urlpatterns: list = [*text_websocket_urlpatterns]
