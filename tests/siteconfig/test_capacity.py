"""The server model under load: admission gate, bounded queue, fast 503s, readiness.

The gate is exercised with a real ASGI app whose requests block until released; the whole
stack with real uvicorn processes on the test database (a view that holds its thread and its
pooled connection stands in for a slow request).
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from psycopg_pool import PoolTimeout

from siteconfig import capacity
from siteconfig.management.commands.run_academy import web_worker_count
from tests.realtime.support import PATIENCE, Uvicorn, build_site

# --- the gate, with a real ASGI app ----------------------------------------------------------


class BlockingApp:
    """An ASGI app whose requests wait until ``release`` is set, then answer 200."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.started += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: Any, path: str = "/courses/") -> dict[str, Any]:
    """Call an ASGI app with a GET of ``path``; the status, headers and body it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": "GET", "headers": []}, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


def gate(app: Any, **options: Any) -> capacity.AdmissionGate:
    values = {"threads": 1, "queue_limit": 1, "queue_timeout": 0.2, "retry_after": 7} | options
    return capacity.AdmissionGate(app, **values)


@pytest.mark.django_db
def test_gate_queued_request_past_its_wait_gets_503_with_retry_after() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        app = BlockingApp()
        front = gate(app)
        first = asyncio.create_task(call(front))
        await asyncio.sleep(0.05)
        shed = await call(front)
        app.release.set()
        return await first, shed, front.shed_total

    first, shed, shed_total = asyncio.run(scenario())
    assert first["status"] == 200
    assert shed["status"] == 503
    assert shed["headers"][b"retry-after"] == b"7"
    assert shed["headers"][b"content-type"] == b"text/html; charset=utf-8"
    assert b"We are very busy right now" in shed["body"]
    assert shed_total == 1


@pytest.mark.django_db
def test_gate_full_queue_sheds_at_once_and_queued_request_runs_when_a_thread_frees() -> None:
    async def scenario() -> list[int]:
        app = BlockingApp()
        front = gate(app, queue_timeout=30)
        running = asyncio.create_task(call(front))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(call(front))
        await asyncio.sleep(0.05)
        shed = await call(front)  # the queue (limit 1) is full: no wait at all
        assert front.stats().waiting == 1
        app.release.set()
        return [(await running)["status"], (await queued)["status"], shed["status"], app.started]

    assert asyncio.run(scenario()) == [200, 200, 503, 2]


@pytest.mark.django_db
def test_gate_readyz_is_503_while_shedding_and_healthz_passes() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], bool]:
        app = BlockingApp()
        front = gate(app)
        running = asyncio.create_task(call(front))
        await asyncio.sleep(0.05)
        await call(front)  # shed
        readyz = await call(front, "/readyz")
        healthz = await call(front, "/healthz")  # answered by the gate while every thread is busy
        app.release.set()
        await running
        return readyz, healthz, front.stats().saturated

    readyz, healthz, saturated = asyncio.run(scenario())
    assert readyz["status"] == 503
    assert b'"capacity"' in readyz["body"] and b"saturated" in readyz["body"]
    assert healthz["status"] == 200
    assert saturated is True


def test_gate_passes_websocket_scopes_untouched() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    front = gate(app, threads=1, queue_limit=0)
    asyncio.run(front({"type": "websocket", "path": "/ws/progress/"}, None, None))  # type: ignore[arg-type]
    assert seen == ["websocket"]


# --- database connections not had in time ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [PoolTimeout("couldn't get a connection after 3.00 sec"), OperationalError("database is locked")],
    ids=["pool-timeout", "sqlite-locked"],
)
def test_overload_middleware_answers_503_when_no_connection_in_time(error: Exception, client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.siteconfig.failing_urls"
    settings.FAILING_VIEW_ERROR = error
    client.raise_request_exception = False
    response = client.get("/test/fail/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "We are very busy right now" in response.content.decode()


@pytest.mark.django_db
def test_overload_middleware_keeps_500_for_other_errors(client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.siteconfig.failing_urls"
    settings.FAILING_VIEW_ERROR = ValueError("a bug")
    client.raise_request_exception = False
    assert client.get("/test/fail/").status_code == 500


# --- the whole stack: real uvicorn processes -------------------------------------------------


# The readiness details (the gate's running count) that the tests wait on are for the metrics
# audience only: the servers get this token.
HOLD_METRICS_TOKEN = "capacity-test-token"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=PATIENCE) as response:
            return response.status, lower_keys(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, lower_keys(error.headers), error.read().decode()


def lower_keys(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


class Held:
    """A request to /test/hold/ running in a thread until ``release()``."""

    def __init__(self, server: Uvicorn, release_file: Path) -> None:
        self.release_file = release_file
        self.result: list[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(get(f"{server.url}/test/hold/")[0]))

    def __enter__(self) -> Held:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_file.touch()
        self.thread.join(PATIENCE)


def wait_running(server: Uvicorn) -> None:
    """Wait until the held request occupies its thread (readyz shows it running)."""
    import json
    import time

    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        # The gate's counters are internals: shown to the metrics audience only.
        status, _headers, body = get(f"{server.url}/readyz", {"Authorization": f"Bearer {HOLD_METRICS_TOKEN}"})
        if status == 200 and json.loads(body)["checks"]["capacity"]["running"] >= 2:  # hold + this probe
            return
        time.sleep(0.05)
    pytest.fail("the held request never started")


@pytest.mark.django_db(transaction=True)
def test_server_saturated_answers_fast_503_and_readyz_says_so(tmp_path: Path) -> None:
    build_site()
    release = tmp_path / "release"
    server = Uvicorn(
        tmp_path / "server.log", DJANGO_SETTINGS_MODULE="tests.siteconfig.hold_settings", HOLD_FILE=str(release),
        ACADEMY_METRICS_TOKEN=HOLD_METRICS_TOKEN,
        ACADEMY_WEB_THREADS="2", ACADEMY_WEB_QUEUE_TIMEOUT="0.3", ACADEMY_WEB_QUEUE_LIMIT="5",
    ).start()
    try:
        with Held(server, release) as held:
            wait_running(server)
            # Both threads taken (the hold and a second hold): the next request waits 0.3 s, then 503.
            with Held(server, release):
                import time

                time.sleep(0.3)
                status, headers, body = get(f"{server.url}/courses/")
                ready_status, _h, ready_body = get(f"{server.url}/readyz")
                live_status, _h, _b = get(f"{server.url}/healthz")
        assert (status, headers.get("retry-after")) == (503, "5")
        assert "We are very busy right now" in body
        assert ready_status == 503 and "saturated" in ready_body
        assert live_status == 200
        assert held.result == [200]
        assert get(f"{server.url}/courses/")[0] == 200
    finally:
        server.stop()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pool_exhausted_answers_503_with_retry_after_not_500(tmp_path: Path) -> None:
    build_site()
    release = tmp_path / "release"
    server = Uvicorn(
        tmp_path / "server.log", DJANGO_SETTINGS_MODULE="tests.siteconfig.hold_settings", HOLD_FILE=str(release),
        ACADEMY_METRICS_TOKEN=HOLD_METRICS_TOKEN,
        ACADEMY_WEB_THREADS="4", DATABASE_POOL_MIN="1", DATABASE_POOL_MAX="1", DATABASE_POOL_TIMEOUT="0.5",
    ).start()
    try:
        with Held(server, release) as held:
            import time

            time.sleep(0.5)  # the hold request has taken the pool's only connection
            status, headers, body = get(f"{server.url}/courses/")
        assert (status, headers.get("retry-after")) == (503, "5")
        assert "We are very busy right now" in body
        assert held.result == [200]
        assert get(f"{server.url}/courses/")[0] == 200  # the connection is back in the pool
    finally:
        server.stop()


def test_web_worker_count_defaults_to_cores_and_is_overridable(settings: Any) -> None:
    import os

    settings.ACADEMY_WEB_WORKERS = 0
    assert web_worker_count() == len(os.sched_getaffinity(0))
    settings.ACADEMY_WEB_WORKERS = 3
    assert web_worker_count() == 3
    assert web_worker_count(5) == 5
