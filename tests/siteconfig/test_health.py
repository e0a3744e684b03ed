"""Liveness and readiness endpoints."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import websockets
from django.test import Client

from siteconfig import health
from tests.realtime.support import PATIENCE, Uvicorn


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_services(client: Client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_service_ok(client: Client) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert sorted(body["checks"]) == ["cache", "channel_layer", "database", "task_broker"]
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_names_the_failing_service_with_503(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cache() -> None:
        raise ConnectionError("cache server refused the connection")

    monkeypatch.setitem(health.CHECKS, "cache", broken_cache)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    # The public answer names the failing check, never its error text or timings.
    assert body["checks"] == {
        "cache": {"ok": False}, "channel_layer": {"ok": True}, "database": {"ok": True}, "task_broker": {"ok": True},
    }


@pytest.mark.django_db
def test_readyz_shows_errors_and_timings_to_the_metrics_audience_only(
    client: Client, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    def broken_cache() -> None:
        raise ConnectionError("cache server refused the connection at 10.0.0.9")

    monkeypatch.setitem(health.CHECKS, "cache", broken_cache)
    settings.ACADEMY_METRICS_TOKEN = "scrape-token-1"  # type: ignore[attr-defined]

    wrong = client.get("/readyz", HTTP_AUTHORIZATION="Bearer not-the-token").json()
    right = client.get("/readyz", HTTP_AUTHORIZATION="Bearer scrape-token-1").json()

    assert wrong["checks"]["cache"] == {"ok": False}
    assert "10.0.0.9" not in str(wrong)
    assert right["checks"]["cache"] == {"ok": False, "error": "ConnectionError: cache server refused the connection at 10.0.0.9"}
    assert sorted(right["checks"]["database"]) == ["ms", "ok"]


def test_readyz_refuses_post(client: Client) -> None:
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_healthz_answers_probes_by_ip_whatever_the_allowed_hosts(client: Client, settings: object) -> None:
    settings.ALLOWED_HOSTS = ["academy.example.com"]  # type: ignore[attr-defined]
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 400


def _readyz_status(url: str) -> tuple[int, dict[str, object]]:
    """GET /readyz on a running server: its status and JSON body."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=PATIENCE) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


ANONYMOUS_HANDSHAKES = 6


@pytest.mark.parametrize("mode", ["embedded", pytest.param("redis", marks=pytest.mark.redis)])
@pytest.mark.django_db(transaction=True)
def test_anonymous_sockets_cannot_poison_readiness_of_a_real_server(
    mode: str, tmp_path: Path, settings: object
) -> None:
    """Issue 19: anonymous handshakes (closed 4401) left /readyz at 503 for the process's life."""
    env = {"REDIS_URL": ""} if mode == "embedded" else {
        "REDIS_URL": settings.REDIS_URL,  # type: ignore[attr-defined]
        "ACADEMY_CACHE_PREFIX": f"t{uuid.uuid4().hex[:10]}",
    }
    server = Uvicorn(tmp_path / "uvicorn.log", **env).start()
    ws_url = f"ws://127.0.0.1:{server.port}"
    origin = f"http://127.0.0.1:{server.port}"

    async def handshakes() -> list[int]:
        codes = []
        for _ in range(ANONYMOUS_HANDSHAKES):
            async with websockets.connect(f"{ws_url}/ws/notifications/", origin=origin) as socket:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(socket.recv(), timeout=PATIENCE)
                codes.append(closed.value.rcvd.code)
        return codes

    try:
        assert _readyz_status(server.url)[0] == 200
        assert asyncio.run(handshakes()) == [4401] * ANONYMOUS_HANDSHAKES
        answers = [_readyz_status(server.url) for _ in range(3)]
    finally:
        server.stop()
    assert answers == [(200, {"status": "ok", "checks": {
        "database": {"ok": True}, "cache": {"ok": True}, "channel_layer": {"ok": True}, "task_broker": {"ok": True},
        "capacity": {"ok": True},
    }})] * 3
    assert "Traceback" not in (tmp_path / "uvicorn.log").read_text()
