"""How one web process serves HTTP, and what it does when it is full.

The server model (measured in ``bench/pages.py``; the figures are in the README): uvicorn
accepts HTTP and WebSocket on one port; WebSockets go to Channels (asyncio), HTTP requests go to
Django's *WSGI* handler on a fixed pool of threads (``siteconfig.wsgi_pool``). Django under its ASGI handler hops
between the event loop and a thread for every sync middleware and the sync view (Wagtail's
page serving is sync), and all those hops share one thread per process: a trivial view ran at a
fifth of a WSGI server's speed. On the WSGI handler a request costs one hand-over to a pool
thread, and requests run in parallel up to the pool size.

Admission: the pool has ``ACADEMY_WEB_THREADS + ACADEMY_WEB_ANON_THREADS`` threads and the gate
runs at most that many requests at once, each holding at most one pooled database connection
(``DATABASE_POOL_MAX`` defaults to all threads + 2: the +2 are the WebSocket consumers' database
thread and a probe). The gate sorts each request, from its ASGI scope alone, into a class:

- ``probe`` (``/readyz``, ``/metrics``) and ``static`` (GET/HEAD under ``STATIC_URL``): cheap,
  and a balancer or a page waits on them;
- ``anonymous``: a GET or HEAD without a session cookie, a messages cookie or an Authorization
  header, so it cannot be a logged-in request (mostly hits of the anonymous page cache);
- ``unsafe``: any other method (a learner's completion, an enrollment, a login);
- ``page``: every other GET/HEAD/OPTIONS (a logged-in page).

**The anonymous lane.** Requests of ``unsafe`` and ``page`` may hold at most ``ACADEMY_WEB_THREADS``
threads; the last ``ACADEMY_WEB_ANON_THREADS`` threads are for ``probe``, ``static`` and
``anonymous`` only (which may use any free thread). So when learners saturate every thread they
may use, visitors' cached pages, static files and probes still run at once. Why a lane and not
the other design (serving page-cache hits on the event loop before admission): a hit must
carry exactly the headers Django's middleware gives it (security headers, CSP, X-Frame-Options,
Vary, X-Cache, the metrics and the request log); a second copy of that path in the gate
would drift from the first, and the cache read itself is a blocking client (django-redis, the
file cache). A lane reuses the one Django path as it is and costs two counters; a hit costs
about what a trivial view does (1-2 ms of a thread), so two threads serve hundreds per second.
A limit: anonymous misses of a cold page wait for one render of it (``courses.pagecache``, up to
``ACADEMY_PAGE_CACHE_FILL_WAIT`` s) while holding their thread, so a cold start can fill the
lane, and the general threads that were free, for that long.

**Who waits, who is shed.** A request that finds no thread it may use waits in one bounded queue
(``ACADEMY_WEB_QUEUE_LIMIT`` requests in all, each for at most ``ACADEMY_WEB_QUEUE_TIMEOUT``
seconds). A freed thread goes to the first waiter of the first class in :data:`ADMISSION_ORDER`
that may use it (probes, static files, unsafe requests, anonymous pages, logged-in pages; first
come first served within a class). When the queue is full, a newcomer takes the place of the
newest waiter of a class after its own (a POST displaces a waiting logged-in GET, which gets the
503 instead), or gets the 503 itself when no such waiter exists: GETs are the cheapest to retry
(the 503 page reloads itself), a lost POST is a learner's lost action. The 503 is fast, carries
``Retry-After`` and a readable page that, for a POST, says plainly that the action was not saved.
``/readyz`` reports the process saturated while it sheds requests, so a balancer sends new ones
elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
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
PROBE_PATHS = frozenset({READYZ_PATH, "/metrics"})
# After shedding a request the process counts as saturated for this long (readiness).
SATURATED_HOLD_SECONDS = 5.0

# Request classes (the ``kind`` label of academy_http_requests_shed_total).
PROBE = "probe"
STATIC = "static"
UNSAFE = "unsafe"
ANONYMOUS = "anonymous"
PAGE = "page"
# Who gets a freed thread first; also who may displace whom from a full queue (an earlier class
# displaces a later one).
ADMISSION_ORDER: tuple[str, ...] = (PROBE, STATIC, UNSAFE, ANONYMOUS, PAGE)
# Classes that may use the anonymous lane's threads: none of them can carry a logged-in session.
ANON_LANE_CLASSES = frozenset({PROBE, STATIC, ANONYMOUS})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CACHEABLE_METHODS = frozenset({"GET", "HEAD"})


def overload_page(*, retry_after: int, action_lost: bool = False) -> bytes:
    """The 503 page a visitor sees when the site is too busy (rendered once per process and variant).

    ``action_lost``: the request was a POST (or another unsafe method) that did not run: the page
    says so and offers to go back, instead of reloading itself after ``retry_after`` seconds.
    """
    return render_to_string("503.html", {"retry_after": retry_after, "action_lost": action_lost}).encode()


def overload_response(*, retry_after: int, action_lost: bool = False) -> HttpResponse:
    """A 503 with Retry-After and the readable page (for Django code paths)."""
    response = HttpResponse(overload_page(retry_after=retry_after, action_lost=action_lost), status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def request_class(
    scope: Scope, *, static_prefix: str = "/static/", private_cookies: Iterable[bytes] = (b"sessionid", b"messages")
) -> str:
    """The admission class of an HTTP request, from its scope alone (no body, no Django).

    A request is ``anonymous`` only when it cannot be logged in: GET/HEAD, no cookie named in
    ``private_cookies`` (the session and messages cookies), no Authorization header. Any doubt
    (a cookie header that merely mentions the name) counts against it.
    """
    method = scope.get("method", "GET")
    path = scope.get("path", "")
    if method in _CACHEABLE_METHODS:
        if path in PROBE_PATHS:
            return PROBE
        if static_prefix and path.startswith(static_prefix):
            return STATIC
    if method not in SAFE_METHODS:
        return UNSAFE
    if method in _CACHEABLE_METHODS and not _may_be_logged_in(scope.get("headers") or (), tuple(private_cookies)):
        return ANONYMOUS
    return PAGE


def _may_be_logged_in(headers: Iterable[tuple[bytes, bytes]], private_cookies: tuple[bytes, ...]) -> bool:
    for name, value in headers:
        if name == b"authorization":
            return True
        if name == b"cookie":
            for chunk in value.split(b";"):
                if chunk.partition(b"=")[0].strip() in private_cookies:
                    return True
    return False


@dataclass
class GateStats:
    """What the admission gate of this process sees (for /readyz and metrics)."""

    threads: int
    anon_threads: int
    running: int
    running_anonymous: int
    waiting: int
    shed_total: int
    saturated: bool
    shed_by_class: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class _Waiter:
    kind: str
    admitted: asyncio.Future[bool]


class AdmissionGate:
    """ASGI middleware: run at most ``threads + anon_threads`` HTTP requests at once (requests that
    may be logged in: at most ``threads``), queue a few by class priority, shed the rest.

    Other scope types (WebSocket, lifespan) pass straight through.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        threads: int,
        queue_limit: int,
        queue_timeout: float,
        retry_after: int,
        anon_threads: int = 0,
    ) -> None:
        self.app = app
        self.threads = threads
        self.anon_threads = anon_threads
        self.queue_limit = queue_limit
        self.queue_timeout = queue_timeout
        self.retry_after = retry_after
        self.running = 0
        self.running_anonymous = 0  # of ``running``: requests of the anonymous lane's classes
        self.waiting = 0
        self.shed_total = 0
        self.shed_by_class = dict.fromkeys(ADMISSION_ORDER, 0)
        self._queues: dict[str, deque[_Waiter]] = {kind: deque() for kind in ADMISSION_ORDER}
        self._last_shed = float("-inf")
        self._pages: dict[bool, bytes] = {}
        static_url = str(getattr(settings, "STATIC_URL", "") or "")
        # A STATIC_URL on another host (a CDN) sends no static request here.
        self._static_prefix = static_url if static_url.startswith("/") else ""
        self._private_cookies = (settings.SESSION_COOKIE_NAME.encode("latin-1"), CookieStorage.cookie_name.encode())

    def stats(self) -> GateStats:
        """A snapshot of the gate's counters."""
        return GateStats(
            threads=self.threads,
            anon_threads=self.anon_threads,
            running=self.running,
            running_anonymous=self.running_anonymous,
            waiting=self.waiting,
            shed_total=self.shed_total,
            saturated=self.saturated(),
            shed_by_class=dict(self.shed_by_class),
        )

    def saturated(self) -> bool:
        """Whether the process sheds requests now or did so moments ago."""
        return time.monotonic() - self._last_shed < SATURATED_HOLD_SECONDS

    def classify(self, scope: Scope) -> str:
        """This request's admission class (see :func:`request_class`)."""
        return request_class(scope, static_prefix=self._static_prefix, private_cookies=self._private_cookies)

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
        kind = self.classify(scope)
        if not await self._admit(kind):
            await self._shed(send, kind, action_lost=kind == UNSAFE)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release(kind)

    # --- slots and the queue (all on the event loop: no locks needed) ---------------------------

    def _has_room(self, kind: str) -> bool:
        if self.running >= self.threads + self.anon_threads:
            return False
        return kind in ANON_LANE_CLASSES or self.running - self.running_anonymous < self.threads

    def _take(self, kind: str) -> None:
        self.running += 1
        if kind in ANON_LANE_CLASSES:
            self.running_anonymous += 1

    def _release(self, kind: str) -> None:
        self.running -= 1
        if kind in ANON_LANE_CLASSES:
            self.running_anonymous -= 1
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand free threads to waiters: by class order, first come first served within a class."""
        for kind in ADMISSION_ORDER:
            queue = self._queues[kind]
            while queue and self._has_room(kind):
                waiter = queue.popleft()
                self.waiting -= 1
                if waiter.admitted.done():
                    continue  # cancelled (the client left); its task is unwinding
                self._take(kind)
                waiter.admitted.set_result(True)

    def _unqueue(self, waiter: _Waiter) -> None:
        try:
            self._queues[waiter.kind].remove(waiter)
        except ValueError:
            return  # already taken off by _dispatch
        self.waiting -= 1

    def _expire(self, waiter: _Waiter) -> None:
        """The waiter's time is up: it is shed (unless it was admitted in the meantime)."""
        if not waiter.admitted.done():
            self._unqueue(waiter)
            waiter.admitted.set_result(False)

    def _displace_for(self, kind: str) -> bool:
        """Shed the newest waiter of the last class after ``kind`` that has one; whether one was."""
        rank = ADMISSION_ORDER.index(kind)
        for later in reversed(ADMISSION_ORDER[rank + 1:]):
            queue = self._queues[later]
            while queue:
                victim = queue.pop()
                self.waiting -= 1
                if not victim.admitted.done():
                    victim.admitted.set_result(False)
                    return True
        return False

    async def _admit(self, kind: str) -> bool:
        """Take a thread for a request of ``kind``, waiting in the queue if need be; False: shed it."""
        if self._has_room(kind):
            # Nobody who could use this thread waits (_dispatch hands out every usable one).
            self._take(kind)
            return True
        if self.waiting >= self.queue_limit and not self._displace_for(kind):
            return False
        loop = asyncio.get_running_loop()
        waiter = _Waiter(kind, loop.create_future())
        self._queues[kind].append(waiter)
        self.waiting += 1
        timer = loop.call_later(self.queue_timeout, self._expire, waiter)
        try:
            return await waiter.admitted
        except asyncio.CancelledError:
            if waiter.admitted.done() and not waiter.admitted.cancelled() and waiter.admitted.result():
                self._release(kind)  # admitted in the same instant the client went away
            else:
                self._unqueue(waiter)
            raise
        finally:
            timer.cancel()

    # --- answers --------------------------------------------------------------------------------

    async def _shed(self, send: Send, kind: str, *, action_lost: bool) -> None:
        self.shed_total += 1
        self.shed_by_class[kind] += 1
        REQUESTS_SHED.labels(kind=kind).inc()
        self._last_shed = time.monotonic()
        page = self._pages.get(action_lost)
        if page is None:
            page = self._pages[action_lost] = overload_page(retry_after=self.retry_after, action_lost=action_lost)
        await self._send(send, 503, page, b"text/html; charset=utf-8")

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
            return overload_response(
                retry_after=settings.ACADEMY_WEB_RETRY_AFTER, action_lost=request.method not in SAFE_METHODS
            )
        return response
