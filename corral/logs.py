"""Structured logs: one line per HTTP request and one per Celery task run.

Both are ordinary log records with the structured fields in ``record.event``; ``LOG_FORMAT=json`` renders
every record as one JSON object per line (``JsonFormatter``), ``plain`` as readable text.
"""

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import empty

request_logger = logging.getLogger("corral.request")
task_logger = logging.getLogger("corral.task")

REQUEST_ID_HEADER = "X-Request-ID"
# request.META, not request.headers: building the headers mapping would cost more than the whole log line.
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"
# A proxy's id is echoed in a response header and the logs, so only a plain token is taken over.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, message, the record's ``event`` fields, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "event", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def request_id_from(sent: str | None) -> str:
    """The id a proxy sent, when it is a plain token; else a new one."""
    return sent if sent and _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def _user_public_id(request) -> str | None:
    """The pseudonymous id of a user the request already loaded; never loads one just for the log."""
    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return str(wrapped.public_id)


def log_request_line(
    *,
    request_id: str,
    method: str,
    path: str,
    route: str | None,
    status: int,
    started: float,
    user: str | None,
) -> None:
    """The one log line of an answered request."""
    level = logging.WARNING if status >= 500 else logging.INFO
    if not request_logger.isEnabledFor(level):
        return
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    event = {
        "event": "request",
        "request_id": request_id,
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "user": user,
    }
    request_logger.log(
        level,
        "%s %s %s %.1f ms route=%s user=%s request_id=%s",
        method,
        path,
        status,
        duration_ms,
        route,
        user,
        request_id,
        extra={"event": event},
    )


def _log_request(request, response, started: float) -> None:
    response[REQUEST_ID_HEADER] = request.request_id
    match = request.resolver_match
    log_request_line(
        request_id=request.request_id,
        method=request.method,
        path=request.path,
        route=match.view_name if match else None,
        status=response.status_code,
        started=started,
        user=_user_public_id(request),
    )


@sync_and_async_middleware
def request_log_middleware(get_response):
    """Takes or makes the request id, returns it in ``X-Request-ID`` and logs the request once it is answered."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            started = time.perf_counter()
            request.request_id = request_id_from(request.META.get(_REQUEST_ID_META))
            response = await get_response(request)
            _log_request(request, response, started)
            return response

    else:

        def middleware(request):
            started = time.perf_counter()
            request.request_id = request_id_from(request.META.get(_REQUEST_ID_META))
            response = get_response(request)
            _log_request(request, response, started)
            return response

    return middleware


# ---------------------------------------------------------------- Celery

_task_started: dict[str, float] = {}
_task_errors: dict[str, str] = {}


def _task_prerun(task_id: str, **_kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


def _task_failure(task_id: str, exception: BaseException, **_kwargs) -> None:
    _task_errors[task_id] = f"{type(exception).__name__}: {exception}"


def _task_postrun(task_id: str, task, args, kwargs, state: str | None = None, **_kwargs) -> None:
    started = _task_started.pop(task_id, None)
    error = _task_errors.pop(task_id, None)
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    outcome = (state or "unknown").lower()
    event = {
        "event": "task",
        "task": task.name,
        "task_id": task_id,
        # Corral's tasks take ids only (job, project), so their arguments are the ids the run worked on.
        "args": list(args or ()),
        "kwargs": dict(kwargs or {}),
        "outcome": outcome,
        "duration_ms": duration_ms,
    }
    if error:
        event["error"] = error
    task_logger.log(
        logging.ERROR if outcome == "failure" else logging.INFO,
        "%s %s %s %s ms args=%s kwargs=%s",
        task.name,
        task_id,
        outcome,
        duration_ms,
        event["args"],
        event["kwargs"],
        extra={"event": event},
    )


def connect_task_logging() -> None:
    from celery.signals import setup_logging, task_failure, task_postrun, task_prerun

    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="corral.logs.task_prerun")
    task_failure.connect(_task_failure, weak=False, dispatch_uid="corral.logs.task_failure")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="corral.logs.task_postrun")
    # Workers and beat keep Django's LOGGING (format, level) instead of Celery configuring the root logger.
    setup_logging.connect(_keep_django_logging, weak=False, dispatch_uid="corral.logs.setup_logging")


def _keep_django_logging(**_kwargs) -> None:
    """Connected to Celery's ``setup_logging``: its presence alone stops Celery from replacing the handlers."""
