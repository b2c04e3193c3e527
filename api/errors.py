"""Error answers: every refusal is JSON with a ``detail`` that says exactly what is wrong."""

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, *, size: int | None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        sent = f"is {size:,} bytes" if size is not None else "is larger than that"
        super().__init__(
            f"The request body {sent}; the API accepts at most {limit:,} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE). "
            "Nothing was saved; send less (split a batch into several)."
        )


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT


def _flatten(errors, path: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _flatten(value, f"{path}.{key}" if path else key)]
    if isinstance(errors, list):
        if all(not isinstance(item, dict | list) for item in errors):
            return [f"{path}: {item}" if path else str(item) for item in errors]
        return [line for index, item in enumerate(errors) for line in _flatten(item, f"{path}[{index}]")]
    return [f"{path}: {errors}" if path else str(errors)]


def exception_handler(exc, context):
    """DRF's answers, with field errors also summed up in one ``detail`` line (the fields stay in ``errors``)."""
    response = drf_exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, ValidationError)
        and not (isinstance(response.data, dict) and "detail" in response.data)
    ):
        response.data = {"detail": "Invalid request: " + "; ".join(_flatten(response.data)), "errors": response.data}
    return response
