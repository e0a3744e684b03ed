"""Structured logs and the request id that ties a request to everything it causes.

- Every request gets an id: the ``X-Request-ID`` a trusted proxy set (``ACADEMY_TRUST_REQUEST_ID``,
  on by default behind ``ACADEMY_NUM_PROXIES``), else a new one. It is returned in the response's
  ``X-Request-ID`` header and kept in a context variable that every log line reads.
- Work the request causes carries it on: receivers that run after the response keep the
  request's context (``academy.middleware``), a task queued during the request takes it along
  in its package (``pre_enqueue``) and the worker puts it back while the task runs
  (``pre_execute``), so the task's log lines name it. A WebSocket connection gets one at its
  handshake, and the consumer's log lines carry it.
- :class:`JsonFormatter` writes one JSON object per line (production); :data:`PLAIN_FORMAT` is
  the readable line of development. Both show the request id.
- :class:`RequestLogMiddleware` writes one access line per request (method, path, route, status,
  duration, user id) and counts it in the metrics.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from academy import metrics

REQUEST_ID_HEADER = "X-Request-ID"
# What an incoming id may look like (a uuid, a proxy's hex id, a trace id); anything else,
# including over-long values, is replaced by a fresh id.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# The key under which a queued task carries the id of the request that queued it.
TASK_REQUEST_ID_KEY = "request_id"
# The logger of the access lines.
REQUEST_LOGGER = "academy.request"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(timestamp)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s"

_request_id: ContextVar[str | None] = ContextVar("academy_request_id", default=None)

access_logger = logging.getLogger(REQUEST_LOGGER)
task_logger = logging.getLogger("academy.tasks")


def new_request_id() -> str:
    """A fresh request id (32 hex characters)."""
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request (or task, or socket) this code runs for, if any."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Any:
    """Make ``value`` the current request id; returns the token to :func:`reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    """Undo :func:`bind_request_id`."""
    _request_id.reset(token)


def incoming_request_id(header_value: str | None, *, trusted: bool) -> str:
    """The request id to use: the header's when trusted and well-formed, else a new one."""
    if trusted and header_value and REQUEST_ID_PATTERN.match(header_value):
        return header_value
    return new_request_id()


def trust_incoming_request_id() -> bool:
    """Whether a proxy in front sets ``X-Request-ID`` (clients cannot choose their id otherwise)."""
    from django.conf import settings

    return bool(settings.ACADEMY_TRUST_REQUEST_ID)


# --- log records ----------------------------------------------------------------------------------


class RequestContextFilter(logging.Filter):
    """Put ``request_id`` and ``user_id`` on every record (``-`` / None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate and keep the record."""
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        if not hasattr(record, "user_id"):
            record.user_id = None
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, user_id, and the
    record's extra fields (an access line adds method, path, route, status and duration_ms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(JSON_FIELDS if not args else args[0], *args[1:], **kwargs)


def logging_config(*, json_lines: bool, level: str, task_level: str) -> dict[str, Any]:
    """The ``LOGGING`` setting: JSON lines or readable lines on stderr, with the request id."""
    formatter: dict[str, Any] = (
        {"()": "academy.logging.JsonFormatter"} if json_lines else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "academy.logging.RequestContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "INFO"},
            # Django's own request log repeats what the access line says (and 4xx as warnings).
            "django.request": {"level": "ERROR"},
            # Django-Q2 logs as "django-q" (with a hyphen).
            "django-q": {"level": task_level},
        },
    }


# --- requests -------------------------------------------------------------------------------------


def _user_id_if_loaded(request: Any) -> int | str | None:
    """The user's id when authentication already loaded the user (never a query of its own)."""
    from django.utils.functional import empty

    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty or wrapped is None:
        return None
    return getattr(wrapped, "pk", None)


class RequestLogMiddleware:
    """Outermost: give the request its id, answer with it, log one access line, count it."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        """Serve the request inside its request-id context."""
        request_id = incoming_request_id(request.META.get("HTTP_X_REQUEST_ID"), trusted=trust_incoming_request_id())
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        seconds = time.perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        route = metrics.route_of(request, response)
        metrics.observe_request(request, response, route=route, seconds=seconds)
        access_logger.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={
                "request_id": request_id,
                "user_id": _user_id_if_loaded(request),
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
        return response


class RequestIdASGIMiddleware:
    """ASGI middleware for WebSockets: the connection's request id (trusted header or new), kept
    for every handler of the consumer (they run in the connection's task) and its log lines."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Run the connection with its request id bound."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                header = value.decode("latin-1")
        request_id = incoming_request_id(header, trusted=trust_incoming_request_id())
        scope["request_id"] = request_id
        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_id.reset(token)


# --- tasks (Django-Q2 signals) ------------------------------------------------------------------


def task_carry_request_id(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """``pre_enqueue``: the queued task takes the current request id along."""
    request_id = _request_id.get()
    if request_id:
        task[TASK_REQUEST_ID_KEY] = request_id


def task_label(task: dict[str, Any]) -> str:
    """The bounded name of a task: its function's dotted path."""
    func = task.get("func")
    if isinstance(func, str):
        return func
    module = getattr(func, "__module__", "")
    return f"{module}.{getattr(func, '__qualname__', repr(func))}" if module else repr(func)


_task_started: ContextVar[float | None] = ContextVar("academy_task_started", default=None)
_current_task: ContextVar[dict[str, str] | None] = ContextVar("academy_current_task", default=None)


def current_task() -> dict[str, str] | None:
    """``{"func", "name", "id"}`` of the task this worker process runs now (None between tasks)."""
    return _current_task.get()


def task_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """``pre_execute`` (worker process): bind the task's request id and log its start."""
    _request_id.set(task.get(TASK_REQUEST_ID_KEY) or f"task-{task.get('id', '')}")
    _task_started.set(time.perf_counter())
    _current_task.set({"func": task_label(task), "name": str(task.get("name", "")), "id": str(task.get("id", ""))})
    task_logger.info("task %s started", task_label(task), extra={"task": task_label(task), "task_name": task.get("name")})


def task_finished(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """``post_execute_in_worker``: log the end of the task and count it; unbind its request id."""
    label = task_label(task)
    started = _task_started.get()
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    succeeded = bool(task.get("success"))
    (metrics.TASKS_SUCCEEDED if succeeded else metrics.TASKS_FAILED).labels(task=label).inc()
    task_logger.log(
        logging.INFO if succeeded else logging.WARNING,
        "task %s %s", label, "succeeded" if succeeded else "failed",
        extra={"task": label, "task_name": task.get("name"), "status": "success" if succeeded else "failure",
               "duration_ms": duration_ms},
    )
    _request_id.set(None)
    _task_started.set(None)
    _current_task.set(None)
