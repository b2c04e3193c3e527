"""Error pages that say what went wrong when Django's own would only say "Bad Request"."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponseBadRequest
from django.template.defaultfilters import filesizeformat
from django.views.defaults import bad_request


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
