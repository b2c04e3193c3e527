"""The ASGI application: websockets through Channels, plain HTTP through Django's WSGI handler.

It serves everything in the embedded mode (one process, whose event loop also carries the in-memory channel layer)
and the websockets in production, where HTTP goes to granian's WSGI workers (corral/wsgi.py, ``manage.py serve``).
Django's own ASGI handler hops between the event loop and worker threads several times per request (and starts a
thread for each one), which cost more CPU than the views themselves. Every view here is synchronous, so HTTP
requests run whole on a fixed pool of WEB_THREADS threads per process instead, through Django's whole middleware
stack, while websockets stay on the event loop.
"""

import contextvars
import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded above)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from corral.routing import websocket_urlpatterns  # noqa: E402
from corral.server import freeze_loaded_objects  # noqa: E402


class PerThreadContext:
    """Runs each request in its thread's own lasting context, as a threaded WSGI server does.

    a2wsgi runs every request in a fresh copy of the event loop's context, and Django keeps its per-thread objects
    (the cache connections) in context-bound locals: without this, each request built them anew, a new connection
    to Redis for every request that read the session cache or the API's rate limit.
    """

    def __init__(self, app):
        self.app = app
        self.contexts = threading.local()

    def __call__(self, environ, start_response):
        context = getattr(self.contexts, "context", None)
        if context is None:
            context = self.contexts.context = contextvars.Context()
        return context.run(self.app, environ, start_response)


application = ProtocolTypeRouter(
    {
        "http": WSGIMiddleware(PerThreadContext(django_wsgi_app), workers=settings.WEB_THREADS),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

freeze_loaded_objects()
