"""How one web process serves HTTP, and what it does when it is full.

The server model (measured in ``bench/pages.py``; the figures are in the README): uvicorn
accepts HTTP and WebSocket on one port; WebSockets go to Channels (asyncio), HTTP requests go to
Django's *WSGI* handler on a fixed pool of threads (a2wsgi). Django under its ASGI handler hops
between the event loop and a thread for every sync middleware and the sync view (Wagtail's
page serving is sync), and all those hops share one thread per process: a trivial view ran at a
fifth of a WSGI server's speed. On the WSGI handler a request costs one hand-over to a pool
thread, and requests run in parallel up to the pool size.

Admission: at most ``ACADEMY_WEB_THREADS`` requests run at once per process, each holding at
most one pooled database connection (``DATABASE_POOL_MAX`` defaults to threads + 2: the +2 are
the WebSocket consumers' database thread and a probe). A request that finds every thread busy
waits in a bounded queue for at most ``ACADEMY_WEB_QUEUE_TIMEOUT`` seconds; past that, or when
``ACADEMY_WEB_QUEUE_LIMIT`` requests already wait, it gets a fast 503 page with Retry-After
instead of a long wait that ends in a 500. ``/readyz`` reports the process saturated while it
sheds requests, so a load balancer sends new ones elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from academy.metrics import REQUESTS_SHED

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTHZ_PATH = "/healthz"
READYZ_PATH = "/readyz"
# After shedding a request the process counts as saturated for this long (readiness).
SATURATED_HOLD_SECONDS = 5.0


def overload_page(*, retry_after: int) -> bytes:
    """The 503 page a visitor sees when the site is too busy (rendered once per process)."""
    return render_to_string("503.html", {"retry_after": retry_after}).encode()


def overload_response(*, retry_after: int) -> HttpResponse:
    """A 503 with Retry-After and the readable page (for Django code paths)."""
    response = HttpResponse(overload_page(retry_after=retry_after), status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


@dataclass
class GateStats:
    """What the admission gate of this process sees (for /readyz and metrics)."""

    threads: int
    running: int
    waiting: int
    shed_total: int
    saturated: bool


class AdmissionGate:
    """ASGI middleware: run at most ``threads`` HTTP requests at once, queue a few, shed the rest.

    Other scope types (WebSocket, lifespan) pass straight through.
    """

    def __init__(
        self, app: ASGIApp, *, threads: int, queue_limit: int, queue_timeout: float, retry_after: int
    ) -> None:
        self.app = app
        self.threads = threads
        self.queue_limit = queue_limit
        self.queue_timeout = queue_timeout
        self.retry_after = retry_after
        self.running = 0
        self.waiting = 0
        self.shed_total = 0
        self._last_shed = float("-inf")
        self._slots: asyncio.Semaphore | None = None
        self._page: bytes | None = None

    def stats(self) -> GateStats:
        """A snapshot of the gate's counters."""
        return GateStats(
            threads=self.threads,
            running=self.running,
            waiting=self.waiting,
            shed_total=self.shed_total,
            saturated=self.saturated(),
        )

    def saturated(self) -> bool:
        """Whether the process sheds requests now or did so moments ago."""
        return time.monotonic() - self._last_shed < SATURATED_HOLD_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit, queue or shed one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == HEALTHZ_PATH:
            # Liveness is this event loop answering, even when every thread is busy.
            await self._send(send, 200, b'{"status": "ok"}', b"application/json")
            return
        if scope.get("path") == READYZ_PATH and self.saturated():
            # The reason is ours to give (no internals): a balancer or operator sees why.
            await self._send(send, 503, b'{"status": "unavailable", "checks": {"capacity": {"ok": false, '
                             b'"error": "saturated: shedding requests"}}}', b"application/json")
            return
        if self._slots is None:
            # Created inside the server's event loop (one loop per process).
            self._slots = asyncio.Semaphore(self.threads)
        if self._slots.locked() and self.waiting >= self.queue_limit:
            await self._shed(send)
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_timeout)
        except TimeoutError:
            await self._shed(send)
            return
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
            self._slots.release()

    async def _shed(self, send: Send) -> None:
        self.shed_total += 1
        REQUESTS_SHED.inc()
        self._last_shed = time.monotonic()
        if self._page is None:
            self._page = overload_page(retry_after=self.retry_after)
        await self._send(send, 503, self._page, b"text/html; charset=utf-8")

    async def _send(self, send: Send, status: int, body: bytes, content_type: bytes) -> None:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if status == 503:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": headers,
        })
        await send({"type": "http.response.body", "body": body})


# The gate of this process, when it serves HTTP through ``siteconfig.asgi`` (None in tests and
# under other servers): read by /readyz.
current_gate: AdmissionGate | None = None


def gate_stats() -> GateStats | None:
    """The admission gate's counters, or None when this process has no gate."""
    return current_gate.stats() if current_gate is not None else None


def _is_pool_exhaustion(exc: BaseException | None) -> bool:
    """A database connection could not be had in time (pool dry, SQLite write lock held)."""
    from psycopg_pool import PoolTimeout

    for error in (exc, getattr(exc, "__cause__", None), getattr(exc, "__context__", None)):
        if isinstance(error, PoolTimeout):
            return True
        if isinstance(error, OperationalError) and "database is locked" in str(error):
            return True
    return False


def mark_overloaded_request(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """``got_request_exception`` receiver: note that the request failed for want of a connection.

    Django turns an exception raised in any middleware or the view into a 500 response at the
    layer that raised it, so no outer code sees the exception itself; this signal does (it is
    sent while the exception is being handled), in debug mode too.
    """
    if request is not None and _is_pool_exhaustion(sys.exc_info()[1]):
        request.academy_overloaded = True  # type: ignore[attr-defined]


class OverloadMiddleware:
    """Outermost: a request that could not get a database connection in time gets a fast 503
    with Retry-After and the readable page instead of the 500 it would have had."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve the request; replace its 500 with a 503 when it was an overload."""
        response = self.get_response(request)
        if getattr(request, "academy_overloaded", False):
            logger.warning("overloaded: %s %s: no database connection in time", request.method, request.path)
            return overload_response(retry_after=settings.ACADEMY_WEB_RETRY_AFTER)
        return response
