from django.urls import path

from generation.text_consumers import TextStreamConsumer

text_websocket_urlpatterns = [path("ws/tasks/<int:pk>/llm/", TextStreamConsumer.as_asgi())]
