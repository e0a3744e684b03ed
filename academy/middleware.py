"""The request scope: work deferred until the response is sent, and values read once per request.

**After the response.** Run a request's domain-event receivers once its response has been sent.

``Event.emit`` (``academy.events``) sends events after the writing transaction commits. Inside a request
that would still be inside the request: pushes, notifications and counts would make the learner
wait. This middleware opens a queue for the request; events committed while it is open are
dispatched, in commit order, when the response is closed (the server calls ``close()`` after the
last byte; Django's test client does the same). Outside a request (tasks, shells, consumers)
events are dispatched at once, as before. Each event is still dispatched exactly once.

**Once per request.** :func:`request_cached` keeps a value for the rest of the request (a shared
cache read that many fragments of one page ask for, such as the plugin activation table); outside
a request it computes every time.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

# The open request's queue of deferred work (None outside a request).
_after_response: ContextVar[list[Callable[[], None]] | None] = ContextVar("academy_after_response", default=None)
# The open request's values read once (None outside a request).
_request_values: ContextVar[dict[str, Any] | None] = ContextVar("academy_request_values", default=None)

T = TypeVar("T")


def request_cached(key: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, computed once per request under ``key`` (every call outside one)."""
    values = _request_values.get()
    if values is None:
        return compute()
    if key not in values:
        values[key] = compute()
    return values[key]  # type: ignore[no-any-return]


def forget_request_cached(key: str) -> None:
    """Drop ``key`` from the current request's values (the request changed what it read)."""
    values = _request_values.get()
    if values is not None:
        values.pop(key, None)


def run_after_response(work: Callable[[], None]) -> None:
    """Run ``work`` after the current response is sent, or now when no request is open.

    Deferred work runs in a copy of the request's context, so what it logs or queues still
    carries the request's id (``academy.logging``).
    """
    queue = _after_response.get()
    if queue is None:
        work()
    else:
        context = contextvars.copy_context()
        queue.append(lambda: context.run(work))


def _drain(queue: list[Callable[[], None]]) -> None:
    while queue:
        work = queue.pop(0)
        try:
            work()
        except Exception:
            logger.exception("after-response work %r failed", work)


def _attach(response: HttpResponseBase, queue: list[Callable[[], None]]) -> None:
    if queue:
        # Django runs these closers in response.close(), before request_finished (the database
        # connection is still there).
        response._resource_closers.append(lambda: _drain(queue))


class AfterResponseMiddleware:
    """Open the request scope: the after-response queue (drained when the response closes) and
    the values read once per request."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Sync stack."""
        if self.is_async:
            return self.__acall__(request)
        queue: list[Callable[[], None]] = []
        token, values_token = _after_response.set(queue), _request_values.set({})
        try:
            response = self.get_response(request)
        finally:
            _after_response.reset(token)
            _request_values.reset(values_token)
        _attach(response, queue)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        """Async stack (the queue list is shared with the view's thread through the context)."""
        queue: list[Callable[[], None]] = []
        token, values_token = _after_response.set(queue), _request_values.set({})
        try:
            response = await self.get_response(request)
        finally:
            _after_response.reset(token)
            _request_values.reset(values_token)
        _attach(response, queue)
        return response
