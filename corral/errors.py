"""The site's error pages: they say what went wrong where Django's own would only say "Bad Request" or
"Server Error"; a database outage is a 503 that says nothing was saved, never a 500."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.views.defaults import bad_request
from django.views.defaults import server_error as default_server_error

DATABASE_UNAVAILABLE = (
    "The database is unavailable right now: what you just sent may not have been saved. Try again in a moment."
)
RETRY_AFTER_SECONDS = 5


def bad_request_explained(request, exception):
    """Requests over Django's size limits get the limit named; every other 400 gets Django's page."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = (
            f"The request is larger than the {filesizeformat(limit)} ({limit:,} bytes) this site accepts in a "
            "form (DATA_UPLOAD_MAX_MEMORY_SIZE). Nothing was saved; send less text."
        )
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        message = "The request has more form fields or files than this site accepts. Nothing was saved."
    else:
        return bad_request(request, exception)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


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
