"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints for orchestrators.

Liveness says the process answers; readiness checks every service a request may need: the
database, the cache, the channel layer and the task broker. Each check is bounded (the
database by a statement timeout, the cache and the broker by their clients' socket timeouts,
the channel layer by its own) and touches nothing a client can leave in a bad state (the channel
layer is checked on an instance of its own, see :func:`check_channel_layer`); a failing
one is named in the JSON answer (status 503). Timings, error text and the admission gate's
counters are internals: only the metrics audience (``Authorization: Bearer
<ACADEMY_METRICS_TOKEN>``) sees them; anyone else gets the status and each check's ok.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from academy.metrics import token_matches
from siteconfig import capacity

# The database's trivial query gives up after this long on PostgreSQL (a connection itself waits
# at most DATABASE_POOL_TIMEOUT for the pool; SQLite's SELECT 1 takes no lock).
DATABASE_TIMEOUT_MS = 2000


def check_database() -> None:
    """Run a trivial query (bounded by ``DATABASE_TIMEOUT_MS`` on PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_MS}")
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    """Write and read back a short-lived key."""
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=5)
    if cache.get(key) != "ok":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


# The channel layer's round trip gives up after this long (a 503 naming it, never a hung probe).
CHANNEL_LAYER_TIMEOUT_SECONDS = 3.0


def check_channel_layer() -> None:
    """Send a message to a fresh channel and receive it back, on a layer instance of its own.

    Never on the process's shared layer: every open socket's consumer receives on that one from
    the server's event loop, and channels_redis refuses a ``receive()`` from a second loop while
    any is pending ("Two event loops are trying to receive() on one channel layer at once!").
    A socket whose receive outlived its close (a blocking pop that swallowed the cancellation)
    kept that count above zero for the life of the process, so one client could turn readiness
    to 503 for good. A short-lived instance has its own connections and its own loop; it is
    closed after the check and bounded by ``CHANNEL_LAYER_TIMEOUT_SECONDS``.
    """
    if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
        raise RuntimeError("no channel layer configured")
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def round_trip() -> None:
        try:
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "readyz.ping"})
            message = await layer.receive(channel)
            if message.get("type") != "readyz.ping":
                raise RuntimeError("channel layer returned another message")
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await close()

    async def bounded() -> None:
        await asyncio.wait_for(round_trip(), timeout=CHANNEL_LAYER_TIMEOUT_SECONDS)

    # A sync view runs in a worker thread without a running loop: this check gets its own.
    asyncio.run(bounded())


def check_task_broker() -> None:
    """Ask the configured Django-Q2 broker whether it answers (and can count its queue)."""
    from academy.tasks import task_broker_status

    status = task_broker_status()
    if not status.ok:
        raise RuntimeError(f"{status.broker} broker: {status.detail}")


HEALTHZ_PATH = "/healthz"

CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "task_broker": check_task_broker,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


class HealthzMiddleware:
    """Answer ``/healthz`` before anything else runs.

    Probes call the container by IP over plain HTTP: placed first, the answer does not depend on
    ``ALLOWED_HOSTS`` (the host is never read), the HTTPS redirect or a session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Serve the liveness probe, or pass the request on."""
        if request.path == HEALTHZ_PATH:
            return healthz(request)
        return self.get_response(request)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every backing service answers and the process is not shedding load; 503 otherwise.

    The failing checks are named. While the admission gate sheds requests it answers this probe
    itself (``siteconfig.capacity``), without touching the database.
    """
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # each check reports its own failure; none may crash the probe
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}
    gate = capacity.gate_stats()
    if gate is not None:
        # running: every admitted request; running_anonymous: those of the anonymous lane's
        # classes (they use its anon_threads first, then any free thread).
        results["capacity"] = {
            "ok": not gate.saturated, "threads": gate.threads, "anon_threads": gate.anon_threads,
            "running": gate.running, "running_anonymous": gate.running_anonymous,
            "waiting": gate.waiting, "shed": gate.shed_total, "shed_by_class": gate.shed_by_class,
        }
    ready = all(result["ok"] for result in results.values())
    if not token_matches(request.headers.get("Authorization"), settings.ACADEMY_METRICS_TOKEN):
        results = {name: {"ok": result["ok"]} for name, result in results.items()}
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)
