"""The site's error pages: a database outage is a 503 that says nothing was saved, never a 500."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as default_server_error

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (
    "The database is unavailable right now: what you just sent may not have been saved. Try again in a moment."
)
RETRY_AFTER_SECONDS = 5


def server_error(request, template_name: str = "500.html"):
    """Django's handler500, which runs inside the ``except`` of the failed request."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return default_server_error(request, template_name)
    if request.headers.get("HX-Request") == "true":
        # The task page's script shows a plain-text answer as it is.
        response = HttpResponse(DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
    else:
        # Rendered without the request: its context processors and user would need the database.
        page = render_to_string("corral/database_unavailable.html", {"message": DATABASE_UNAVAILABLE})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
