"""Prometheus metrics of every Academy process, and the ``/metrics`` answer.

One set of metrics for the whole machine: ``run_academy`` gives its web processes and its task
worker one ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multi-process mode), each process
writes its samples there, and whichever web process answers ``/metrics`` reads them all. Without
that variable (tests, a shell) the samples of this process only are served.

Who may read them (``ACADEMY_METRICS_TOKEN`` / ``ACADEMY_METRICS_LISTEN``, README): the web port's
``/metrics`` answers only a request with ``Authorization: Bearer <token>`` (401 without it) and
is a 404 when no token is configured; ``ACADEMY_METRICS_LISTEN`` serves the same text on a
separate address (for a private network) without a token, from ``run_academy``.

Metric names (all prefixed ``academy_``) are listed in :data:`METRIC_NAMES` and docs/deploy.md.
Label values are bounded: routes are URL patterns (never raw paths), task and event names come
from code, streams from the WebSocket routing.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_PATH = "/metrics"
if os.environ.get(MULTIPROC_ENV):
    # Label-less metrics open their sample file at import: the folder must exist by then.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

# Request latency buckets (seconds): from a cached page (~1 ms) to the queue timeout and beyond.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Route label of a request that matched no URL pattern (a 404 or an answer from a middleware).
UNMATCHED_ROUTE = "(unmatched)"
# Route label of an anonymous page served from the page cache (answered before URL resolution).
PAGE_CACHE_ROUTE = "(page cache)"
# Route label of a page served by Wagtail (its catch-all pattern says nothing).
WAGTAIL_PAGE_ROUTE = "(wagtail page)"
# Paths answered by a middleware before URL resolution, labelled by themselves.
FIXED_PATHS = frozenset({"/metrics", "/healthz"})

HTTP_REQUESTS = Counter(
    "academy_http_requests_total", "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "academy_http_request_duration_seconds", "Time to answer an HTTP request (Django), by route pattern.",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)
WS_OPEN = Gauge(
    "academy_websocket_connections", "Open (accepted) WebSocket connections, by stream.",
    ["stream"], multiprocess_mode="livesum",
)
WS_FRAMES = Counter(
    "academy_websocket_frames_sent_total", "Text frames the server sent on WebSockets, by stream.", ["stream"],
)
EVENTS = Counter("academy_events_total", "Domain events dispatched, by event name.", ["event"])
TASKS_QUEUED = Counter("academy_tasks_queued_total", "Tasks put on the queue, by task function.", ["task"])
TASKS_SUCCEEDED = Counter("academy_tasks_succeeded_total", "Task runs that succeeded, by task function.", ["task"])
TASKS_FAILED = Counter("academy_tasks_failed_total", "Task runs that raised, by task function.", ["task"])
TASKS_RETRIED = Counter(
    "academy_tasks_retried_total", "Failed task runs that the ORM broker will hand out again.", ["task"],
)
PAGE_CACHE = Counter(
    "academy_page_cache_requests_total", "Anonymous page-cache lookups, by result (hit or miss).", ["result"],
)
DB_POOL_IN_USE = Gauge(
    "academy_db_pool_connections_in_use", "PostgreSQL pool connections lent out (sampled after each request).",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "academy_db_pool_requests_waiting", "Requests waiting for a pool connection (sampled after each request).",
    multiprocess_mode="livesum",
)
RATELIMIT_REFUSALS = Counter(
    "academy_ratelimit_refusals_total", "Requests or sockets refused by a rate limit, by door.", ["door"],
)
REQUESTS_SHED = Counter(
    "academy_http_requests_shed_total",
    "HTTP requests answered 503 by the admission gate (process full), by request class.",
    ["kind"],
)

METRIC_NAMES: tuple[str, ...] = (
    "academy_http_requests_total",
    "academy_http_request_duration_seconds",
    "academy_http_requests_shed_total",
    "academy_websocket_connections",
    "academy_websocket_frames_sent_total",
    "academy_events_total",
    "academy_tasks_queued_total",
    "academy_tasks_succeeded_total",
    "academy_tasks_failed_total",
    "academy_tasks_retried_total",
    "academy_task_queue_depth",
    "academy_task_queue_oldest_age_seconds",
    "academy_page_cache_requests_total",
    "academy_db_pool_connections_in_use",
    "academy_db_pool_requests_waiting",
    "academy_ratelimit_refusals_total",
)


# --- HTTP -------------------------------------------------------------------------------------


def route_of(request: Any, response: Any) -> str:
    """The bounded route label of a request: its URL pattern, or a fixed name."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        if match.url_name == "wagtail_serve":
            return WAGTAIL_PAGE_ROUTE
        return str(match.route) or "/"
    if request.path in FIXED_PATHS:
        return str(request.path)
    if response.get("X-Cache") == "hit":
        return PAGE_CACHE_ROUTE
    return UNMATCHED_ROUTE


def observe_request(request: Any, response: Any, *, route: str, seconds: float) -> None:
    """Count one answered request (route, method, status, latency, page-cache result, pool)."""
    method = request.method if request.method in KNOWN_METHODS else "OTHER"
    HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(seconds)
    cache_result = response.get("X-Cache")
    if cache_result in {"hit", "miss"}:
        PAGE_CACHE.labels(result=cache_result).inc()
    sample_db_pool()


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def sample_db_pool() -> None:
    """Record this process's PostgreSQL pool use (nothing without a pool)."""
    from django.db import connections

    pool = getattr(connections["default"], "pool", None) if _has_pool() else None
    if pool is None:
        return
    stats = pool.get_stats()
    DB_POOL_IN_USE.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))


def _has_pool() -> bool:
    from django.conf import settings

    return bool(settings.DATABASES["default"].get("OPTIONS", {}).get("pool"))


# --- tasks (Django-Q2 signals) and events --------------------------------------------------------


def count_task_queued(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """``pre_enqueue``: one more task of this function on the queue."""
    from academy.logging import task_label

    TASKS_QUEUED.labels(task=task_label(task)).inc()


def count_task_retry(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """``post_execute`` (the cluster's monitor, after it saved the result): a failed run that the
    ORM broker will hand out again (not acknowledged, attempts left) counts as a retry."""
    if task.get("success") or task.get("ack_failure"):
        return
    from django_q.conf import Conf
    from django_q.models import Task

    if not Conf.ORM:
        return  # the Redis broker took the task off the queue: it is not retried
    attempts = Task.objects.filter(id=task["id"]).values_list("attempt_count", flat=True).first() or 0
    if not Conf.MAX_ATTEMPTS or attempts < Conf.MAX_ATTEMPTS:
        from academy.logging import task_label

        TASKS_RETRIED.labels(task=task_label(task)).inc()


# --- the task queue, read when scraped ---------------------------------------------------------------


class TaskQueueCollector(Collector):
    """Queue depth and the age of the oldest waiting task, asked of the broker at scrape time."""

    def collect(self) -> Iterator[Metric]:
        """Two gauges; nothing when the broker does not answer (``/readyz`` reports that)."""
        try:
            depth, age = task_queue_state()
        except Exception:
            return
        yield GaugeMetricFamily("academy_task_queue_depth", "Tasks waiting on the broker.", value=depth)
        yield GaugeMetricFamily(
            "academy_task_queue_oldest_age_seconds", "Seconds since the oldest waiting task was queued.", value=age,
        )


def task_queue_state() -> tuple[int, float]:
    """(waiting tasks, age in seconds of the oldest one; 0 when empty) on the configured broker."""
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM
    from django_q.signing import SignedPackage

    broker = get_broker()
    depth = int(broker.queue_size() or 0)
    if not depth:
        return 0, 0.0
    if isinstance(broker, ORM):
        payload = (
            broker.get_connection().filter(key=broker.list_key).order_by("pk").values_list("payload", flat=True).first()
        )
    else:
        # Django-Q2's Redis broker pushes with RPUSH and takes with BLPOP: the oldest is first.
        payload = broker.connection.lindex(broker.list_key, 0)
    if payload is None:
        return depth, 0.0
    started = SignedPackage.loads(payload).get("started")
    age = (timezone.now() - started).total_seconds() if started else 0.0
    return depth, max(0.0, age)


# --- exposition ------------------------------------------------------------------------------------


def registry() -> CollectorRegistry:
    """What to expose: every process's samples (multi-process mode) or this one's, plus the queue."""
    if os.environ.get(MULTIPROC_ENV):
        collected = CollectorRegistry()
        MultiProcessCollector(collected)
        collected.register(TaskQueueCollector())
        return collected
    _register_queue_collector_once()
    return REGISTRY


_queue_collector_registered = False


def _register_queue_collector_once() -> None:
    global _queue_collector_registered
    if not _queue_collector_registered:
        REGISTRY.register(TaskQueueCollector())
        _queue_collector_registered = True


def exposition() -> bytes:
    """The Prometheus text format of :func:`registry`."""
    return generate_latest(registry())


def token_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (constant-time compare)."""
    if not token or not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class MetricsEndpointMiddleware:
    """Answer ``/metrics`` before host validation, the HTTPS redirect and sessions.

    A scraper calls the container by name or address over the private network; the bearer token,
    not the Host header, decides. No token configured: 404, as if there were no such page.
    """

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        """Serve the metrics, refuse, or pass the request on."""
        if request.path != METRICS_PATH:
            return self.get_response(request)
        from django.conf import settings
        from django.http import HttpResponse, HttpResponseNotFound

        token = settings.ACADEMY_METRICS_TOKEN
        if not token:
            return HttpResponseNotFound(b"Not Found", content_type="text/plain")
        if not token_matches(request.headers.get("Authorization"), token):
            refused = HttpResponse(b"A bearer token is required.\n", status=401, content_type="text/plain")
            refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return refused
        sample_db_pool()
        response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
        response["Cache-Control"] = "no-store"
        return response


def metrics_wsgi_app(healthy: Callable[[], bool] = lambda: True) -> Callable[..., Iterable[bytes]]:
    """A WSGI app for the separate metrics address: ``/metrics`` and ``/healthz`` (for the
    supervisor of a worker container, which has no web server of its own)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok = healthy()
            body = b'{"status": "ok"}' if ok else b'{"status": "unavailable"}'
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        if path not in {METRICS_PATH, "/"}:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        body = exposition()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    return app


# --- WebSocket --------------------------------------------------------------------------------------


def websocket_stream(path: str) -> str:
    """The bounded stream label of a WebSocket path: ``/ws/courses/12/`` -> ``courses``."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "ws":
        if parts[1] == "p" and len(parts) >= 3:
            return f"p/{parts[2]}"
        return parts[1]
    return "other"


class WebSocketMetricsMiddleware:
    """ASGI middleware: count open WebSockets and the frames sent on them, by stream.

    A socket counts as open from its accept until its close (sent by the server) or the end of
    the connection, whichever comes first; sockets refused with a 44xx close count for a moment.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        """Pass the connection on, watching what the application sends."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        stream = websocket_stream(scope.get("path", ""))
        is_open = False

        def closed() -> None:
            nonlocal is_open
            if is_open:
                is_open = False
                WS_OPEN.labels(stream=stream).dec()

        async def watching_send(message: dict[str, Any]) -> None:
            nonlocal is_open
            kind = message.get("type")
            if kind == "websocket.send":
                WS_FRAMES.labels(stream=stream).inc()
            elif kind == "websocket.accept" and not is_open:
                is_open = True
                WS_OPEN.labels(stream=stream).inc()
            elif kind == "websocket.close":
                closed()
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            closed()
