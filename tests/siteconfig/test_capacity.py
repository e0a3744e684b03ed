"""The server model under load: admission gate, anonymous lane, class priorities, bounded
queue, fast 503s (and what they say), readiness.

The gate is exercised with a real ASGI app whose requests block until released; the whole
stack with real uvicorn processes on the test database (a view that holds its thread and its
pooled connection stands in for a slow request).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
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
    """An ASGI app whose requests wait until ``release`` is set, then answer 200.

    ``started`` lists the requests it began, in order, as "METHOD path"; paths in ``instant``
    answer at once.
    """

    def __init__(self, instant: tuple[str, ...] = ()) -> None:
        self.release = asyncio.Event()
        self.started: list[str] = []
        self.instant = instant

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.started.append(f"{scope['method']} {scope['path']}")
        if scope["path"] not in self.instant:
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


# Request headers of a browser that may be logged in (the gate never reads the values).
SESSION = [(b"cookie", b"csrftoken=abc; sessionid=opaque")]


async def call(
    app: Any, path: str = "/courses/", *, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    """Call an ASGI app with a request for ``path``; the status, headers and body it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "headers": headers or []}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


def gate(app: Any, **options: Any) -> capacity.AdmissionGate:
    values = {"threads": 1, "anon_threads": 0, "queue_limit": 1, "queue_timeout": 0.2, "retry_after": 7} | options
    return capacity.AdmissionGate(app, **values)


async def settle() -> None:
    """Let every started request reach the gate's queue or the app."""
    await asyncio.sleep(0.05)


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
        return [(await running)["status"], (await queued)["status"], shed["status"], len(app.started)]

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


# --- the anonymous lane ----------------------------------------------------------------------


@pytest.mark.django_db
def test_gate_anonymous_get_runs_in_its_lane_while_logged_in_requests_hold_every_thread() -> None:
    async def scenario() -> dict[str, int]:
        app = BlockingApp(instant=("/courses/",))
        front = gate(app, threads=1, anon_threads=1, queue_limit=10, queue_timeout=0.2)
        held = asyncio.create_task(call(front, "/dashboard/", headers=SESSION))
        await settle()
        answers = {
            "anonymous": (await call(front, "/courses/"))["status"],
            "session cookie": (await call(front, "/courses/", headers=SESSION))["status"],
            "messages cookie": (await call(front, "/courses/", headers=[(b"cookie", b"messages=x")]))["status"],
            "authorization": (await call(front, "/courses/", headers=[(b"authorization", b"Bearer t")]))["status"],
            "anonymous post": (await call(front, "/courses/", method="POST"))["status"],
        }
        app.release.set()
        answers["held"] = (await held)["status"]
        return answers

    assert asyncio.run(scenario()) == {
        "anonymous": 200, "session cookie": 503, "messages cookie": 503, "authorization": 503,
        "anonymous post": 503, "held": 200,
    }


@pytest.mark.django_db
def test_gate_anonymous_requests_also_use_a_free_general_thread() -> None:
    async def scenario() -> tuple[list[str], list[int], capacity.GateStats, list[int]]:
        app = BlockingApp()
        front = gate(app, threads=1, anon_threads=1, queue_limit=10, queue_timeout=30)
        anonymous = [asyncio.create_task(call(front, f"/anon-{n}/")) for n in range(2)]
        await settle()
        stats_full = front.stats()
        logged_in = asyncio.create_task(call(front, "/dashboard/", headers=SESSION))
        await settle()
        started_while_full = list(app.started)
        app.release.set()
        statuses = [(await task)["status"] for task in [*anonymous, logged_in]]
        return started_while_full, statuses, stats_full, [front.running, front.waiting]

    started, statuses, stats_full, after = asyncio.run(scenario())
    assert started == ["GET /anon-0/", "GET /anon-1/"]  # the logged-in request waited
    assert statuses == [200, 200, 200]
    assert (stats_full.running, stats_full.running_anonymous, stats_full.threads, stats_full.anon_threads) == (2, 2, 1, 1)
    assert after == [0, 0]


@pytest.mark.parametrize(
    ("scope", "kind"),
    [
        ({"method": "GET", "path": "/courses/", "headers": []}, "anonymous"),
        ({"method": "HEAD", "path": "/courses/", "headers": [(b"cookie", b"csrftoken=x")]}, "anonymous"),
        ({"method": "GET", "path": "/courses/", "headers": [(b"cookie", b"a=1;sessionid=x")]}, "page"),
        ({"method": "GET", "path": "/courses/", "headers": [(b"cookie", b"messages=x")]}, "page"),
        ({"method": "GET", "path": "/api/v1/courses/", "headers": [(b"authorization", b"Token t")]}, "page"),
        ({"method": "OPTIONS", "path": "/courses/", "headers": []}, "page"),
        ({"method": "POST", "path": "/learning/complete/", "headers": SESSION}, "unsafe"),
        ({"method": "DELETE", "path": "/api/v1/enrollments/1/", "headers": []}, "unsafe"),
        ({"method": "GET", "path": "/static/css/academy.css", "headers": SESSION}, "static"),
        ({"method": "POST", "path": "/static/css/academy.css", "headers": []}, "unsafe"),
        ({"method": "GET", "path": "/readyz", "headers": [(b"authorization", b"Bearer t")]}, "probe"),
        ({"method": "GET", "path": "/metrics", "headers": []}, "probe"),
    ],
)
def test_request_class_from_the_scope(scope: dict[str, Any], kind: str) -> None:
    front = gate(BlockingApp())
    assert front.classify({"type": "http", **scope}) == kind


# --- who waits, who is shed ------------------------------------------------------------------


@pytest.mark.django_db
def test_gate_admits_probes_static_and_unsafe_requests_first_and_fifo_within_a_class() -> None:
    async def scenario() -> list[str]:
        app = BlockingApp()
        front = gate(app, threads=1, queue_limit=10, queue_timeout=30)
        arrivals = [
            ("GET", "/page-1/", SESSION), ("POST", "/post-1/", SESSION), ("GET", "/page-2/", SESSION),
            ("GET", "/static/css/academy.css", SESSION), ("GET", "/anon-1/", []), ("POST", "/post-2/", SESSION),
            ("GET", "/readyz", []), ("GET", "/anon-2/", []),
        ]
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        tasks = []
        for method, path, headers in arrivals:
            tasks.append(asyncio.create_task(call(front, path, method=method, headers=headers)))
            await asyncio.sleep(0.01)
        assert front.waiting == len(arrivals)
        app.release.set()
        assert [(await task)["status"] for task in [held, *tasks]] == [200] * 9
        return app.started

    assert asyncio.run(scenario()) == [
        "GET /held/", "GET /readyz", "GET /static/css/academy.css", "POST /post-1/", "POST /post-2/",
        "GET /anon-1/", "GET /anon-2/", "GET /page-1/", "GET /page-2/",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [("POST", "/learning/complete/", SESSION), ("GET", "/static/js/live.js", SESSION), ("GET", "/courses/", [])],
    ids=["unsafe", "static", "anonymous"],
)
def test_gate_full_queue_newcomer_displaces_the_newest_waiting_logged_in_get(
    method: str, path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    async def scenario() -> tuple[list[int], list[str], dict[str, int]]:
        app = BlockingApp()
        front = gate(app, threads=1, queue_limit=2, queue_timeout=30)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        first = asyncio.create_task(call(front, "/page-1/", headers=SESSION))
        await settle()
        second = asyncio.create_task(call(front, "/page-2/", headers=SESSION))
        await settle()
        newcomer = asyncio.create_task(call(front, path, method=method, headers=headers))
        await settle()
        displaced = await asyncio.wait_for(second, 1)  # answered at once, the rest still wait
        app.release.set()
        statuses = [(await task)["status"] for task in (held, first, newcomer)] + [displaced["status"]]
        assert b"reloads by itself" in displaced["body"]
        return statuses, app.started, front.stats().shed_by_class

    statuses, started, shed = asyncio.run(scenario())
    assert statuses == [200, 200, 200, 503]
    assert started == ["GET /held/", f"{method} {path}", "GET /page-1/"]
    assert shed == {"probe": 0, "static": 0, "unsafe": 0, "anonymous": 0, "page": 1}


@pytest.mark.django_db
def test_gate_full_queue_of_posts_sheds_newcomers_of_the_same_or_a_later_class() -> None:
    async def scenario() -> list[int]:
        app = BlockingApp()
        front = gate(app, threads=1, queue_limit=2, queue_timeout=30)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        posts = [asyncio.create_task(call(front, f"/post-{n}/", method="POST", headers=SESSION)) for n in range(2)]
        await settle()
        late_post = await call(front, "/post-late/", method="POST", headers=SESSION)
        late_page = await call(front, "/dashboard/", headers=SESSION)
        app.release.set()
        return [late_post["status"], late_page["status"]] + [(await task)["status"] for task in (held, *posts)]

    assert asyncio.run(scenario()) == [503, 503, 200, 200, 200]


@pytest.mark.django_db
def test_gate_counts_shed_requests_by_class_in_the_metric() -> None:
    from prometheus_client import REGISTRY

    def shed(kind: str) -> float:
        return REGISTRY.get_sample_value("academy_http_requests_shed_total", {"kind": kind}) or 0.0

    before = {kind: shed(kind) for kind in capacity.ADMISSION_ORDER}

    async def scenario() -> None:
        app = BlockingApp()
        front = gate(app, threads=1, queue_limit=0)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        await call(front, "/learning/complete/", method="POST", headers=SESSION)
        await call(front, "/dashboard/", headers=SESSION)
        await call(front, "/dashboard/", headers=SESSION)
        await call(front, "/courses/")
        app.release.set()
        await held

    asyncio.run(scenario())
    assert {kind: shed(kind) - before[kind] for kind in capacity.ADMISSION_ORDER} == {
        "probe": 0, "static": 0, "unsafe": 1, "anonymous": 1, "page": 2,
    }


@pytest.mark.django_db
def test_gate_client_leaving_the_queue_frees_its_place() -> None:
    async def scenario() -> list[Any]:
        app = BlockingApp()
        front = gate(app, threads=1, queue_limit=1, queue_timeout=30)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        leaving = asyncio.create_task(call(front, "/gone/", headers=SESSION))
        await settle()
        leaving.cancel()
        await settle()
        waiting_after_cancel = front.waiting
        queued = asyncio.create_task(call(front, "/page/", headers=SESSION))  # the queue has room again
        await settle()
        app.release.set()
        return [waiting_after_cancel, (await held)["status"], (await queued)["status"], app.started, front.running]

    assert asyncio.run(scenario()) == [0, 200, 200, ["GET /held/", "GET /page/"], 0]


# --- what a learner sees ---------------------------------------------------------------------


@pytest.mark.django_db
def test_gate_shed_get_page_reloads_itself_after_retry_after_and_carries_nothing_inline() -> None:
    from tests.siteconfig.test_csp import INLINE

    async def scenario() -> dict[str, Any]:
        app = BlockingApp()
        front = gate(app, queue_limit=0)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        shed = await call(front, "/dashboard/", headers=SESSION)
        app.release.set()
        await held
        return shed

    shed = asyncio.run(scenario())
    page = shed["body"].decode()
    assert shed["status"] == 503 and shed["headers"][b"retry-after"] == b"7"
    assert '<meta http-equiv="refresh" content="7">' in page
    assert "this page reloads by itself in 7 seconds" in page
    assert "not saved" not in page
    assert INLINE.findall(page) == []


@pytest.mark.django_db
def test_gate_shed_post_page_says_the_action_was_not_saved_and_offers_to_go_back() -> None:
    from tests.siteconfig.test_csp import INLINE

    async def scenario() -> dict[str, Any]:
        app = BlockingApp()
        front = gate(app, queue_limit=0)
        held = asyncio.create_task(call(front, "/held/", headers=SESSION))
        await settle()
        shed = await call(front, "/learning/complete/", method="POST", headers=SESSION)
        app.release.set()
        await held
        return shed

    shed = asyncio.run(scenario())
    page = shed["body"].decode()
    assert shed["status"] == 503 and shed["headers"][b"retry-after"] == b"7"
    assert "What you just sent was not saved." in page
    assert "send it again in 7 seconds" in page
    assert "Back button" in page and "data-history-back" in page
    assert 'src="/static/js/academy-busy.js"' in page
    assert "http-equiv" not in page  # reloading would not resend it: nothing reloads by itself
    assert INLINE.findall(page) == []


@pytest.mark.django_db
def test_overload_middleware_post_page_says_the_action_was_not_saved(client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.siteconfig.failing_urls"
    settings.FAILING_VIEW_ERROR = PoolTimeout("couldn't get a connection after 3.00 sec")
    client.raise_request_exception = False
    response = client.post("/test/fail/")
    assert response.status_code == 503
    assert "What you just sent was not saved." in response.content.decode()
    assert "http-equiv" not in response.content.decode()


def test_busy_script_is_a_static_file() -> None:
    script = Path(__file__).resolve().parents[2] / "static" / "js" / "academy-busy.js"
    assert "history.back()" in script.read_text()


# --- readiness shows the lanes ---------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_reports_lane_occupancy_to_the_metrics_audience(client: Any, settings: Any, monkeypatch: Any) -> None:
    import json

    settings.ACADEMY_METRICS_TOKEN = "lanes-token"
    app = BlockingApp()
    front = gate(app, threads=1, anon_threads=2, queue_limit=5, queue_timeout=30)
    monkeypatch.setattr(capacity, "current_gate", front)
    loop = asyncio.new_event_loop()
    requests = [("/anon/", []), ("/static/css/academy.css", SESSION), ("/dashboard/", SESSION), ("/later/", SESSION)]
    tasks = [loop.create_task(call(front, path, headers=headers)) for path, headers in requests]
    runner = threading.Thread(target=loop.run_until_complete, args=(asyncio.gather(*tasks),))
    runner.start()
    try:
        deadline = time.monotonic() + PATIENCE
        while front.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer lanes-token")
    finally:
        loop.call_soon_threadsafe(app.release.set)
        runner.join(PATIENCE)
        loop.close()
    check = json.loads(response.content)["checks"]["capacity"]
    assert {key: check[key] for key in ("threads", "anon_threads", "running", "running_anonymous", "waiting")} == {
        "threads": 1, "anon_threads": 2, "running": 3, "running_anonymous": 2, "waiting": 1,
    }


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


# A browser that may be logged in, to the gate (it never reads the session itself).
SESSION_COOKIE = {"Cookie": "sessionid=not-a-session"}


class Held:
    """A request to /test/hold/ running in a thread until ``release()`` (as a logged-in browser
    by default: it takes a general thread, not the anonymous lane's)."""

    def __init__(self, server: Uvicorn, release_file: Path, headers: dict[str, str] | None = None) -> None:
        self.release_file = release_file
        self.result: list[int] = []
        headers = SESSION_COOKIE if headers is None else headers
        self.thread = threading.Thread(
            target=lambda: self.result.append(get(f"{server.url}/test/hold/", headers)[0])
        )

    def __enter__(self) -> Held:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_file.touch()
        self.thread.join(PATIENCE)


def wait_running(server: Uvicorn) -> None:
    """Wait until the held request occupies its thread (readyz shows it running)."""
    import json

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
        ACADEMY_WEB_THREADS="2", ACADEMY_WEB_ANON_THREADS="1", ACADEMY_WEB_QUEUE_TIMEOUT="0.3",
        ACADEMY_WEB_QUEUE_LIMIT="5",
    ).start()
    try:
        assert get(f"{server.url}/courses/")[0] == 200  # the anonymous page cache is warm
        with Held(server, release) as held:
            wait_running(server)
            # Both general threads taken by logged-in requests (the hold and a second hold).
            with Held(server, release):
                time.sleep(0.3)
                # A visitor's cached page runs in the anonymous lane, on a thread of a2wsgi's pool
                # (which has one for each of the gate's slots); queued, it would have had the 503.
                anon_status, anon_headers, _b = get(f"{server.url}/courses/")
                # A logged-in request waits 0.3 s for a thread it may use, then gets the 503.
                status, headers, body = get(f"{server.url}/courses/", SESSION_COOKIE)
                ready_status, _h, ready_body = get(f"{server.url}/readyz")
                live_status, _h, _b = get(f"{server.url}/healthz")
        assert (anon_status, anon_headers.get("x-cache")) == (200, "hit")
        assert (status, headers.get("retry-after")) == (503, "5")
        assert "We are very busy right now" in body
        assert ready_status == 503 and "saturated" in ready_body
        assert live_status == 200
        assert held.result == [200]
        assert get(f"{server.url}/courses/", SESSION_COOKIE)[0] == 200
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
            time.sleep(0.5)  # the hold request has taken the pool's only connection
            status, headers, body = get(f"{server.url}/courses/")
        assert (status, headers.get("retry-after")) == (503, "5")
        assert "We are very busy right now" in body
        assert held.result == [200]
        assert get(f"{server.url}/courses/")[0] == 200  # the connection is back in the pool
    finally:
        server.stop()


def test_web_worker_count_defaults_to_cores_and_is_overridable(settings: Any) -> None:
    settings.ACADEMY_WEB_WORKERS = 0
    assert web_worker_count() == len(os.sched_getaffinity(0))
    settings.ACADEMY_WEB_WORKERS = 3
    assert web_worker_count() == 3
    assert web_worker_count(5) == 5


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "8 2 12"),
        ({"ACADEMY_WEB_THREADS": "3", "ACADEMY_WEB_ANON_THREADS": "4"}, "3 4 9"),
        ({"ACADEMY_WEB_ANON_THREADS": "0", "DATABASE_POOL_MAX": "5"}, "8 0 5"),
    ],
)
def test_database_pool_default_follows_every_request_thread(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    root = Path(__file__).resolve().parents[2]
    script = (
        "from django.conf import settings as s; "
        "print(s.ACADEMY_WEB_THREADS, s.ACADEMY_WEB_ANON_THREADS, s.DATABASES['default']['OPTIONS']['pool']['max_size'])"
    )
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("ACADEMY_WEB_", "DATABASE_"))}
    # Never connected to: the settings only describe the pool.
    clean.update(env, ACADEMY_DATA_DIR=str(tmp_path), DATABASE_URL="postgres://nobody@127.0.0.1:9/none")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=root, env=clean, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_negative_anonymous_lane_is_refused(tmp_path: Path) -> None:
    env = dict(os.environ, ACADEMY_DATA_DIR=str(tmp_path), ACADEMY_WEB_ANON_THREADS="-1")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=Path(__file__).resolve().parents[2], env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "ACADEMY_WEB_ANON_THREADS >= 0" in result.stderr
