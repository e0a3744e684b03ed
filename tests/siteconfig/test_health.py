"""Liveness and readiness endpoints."""

from __future__ import annotations

import pytest
from django.test import Client

from siteconfig import health


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
