"""/metrics in this process: who may read it, and that requests, sockets, events, tasks, the page
cache and rate-limit refusals are counted (read back through the endpoint's own text).

The multi-process path (several web processes, the worker) is in tests/siteconfig/test_operations.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from academy import ratelimit
from academy.metrics import METRIC_NAMES, token_matches, websocket_stream
from academy.tasks import enqueue
from learning import services
from tests.realtime.support import communicator, login_cookie, receive_close, run

TOKEN = "metrics-token-123"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def token(settings: Any) -> str:
    settings.ACADEMY_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) -> value."""
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_is_404_when_no_token_is_configured(client: Client, settings: Any) -> None:
    settings.ACADEMY_METRICS_TOKEN = ""

    response = client.get("/metrics", **AUTH)

    assert response.status_code == 404
    assert b"academy_" not in response.content


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuses_without_its_token(client: Client, token: str, header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"academy_" not in response.content


def test_metrics_answers_by_any_host_name_with_its_token(client: Client, token: str, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["academy.example.com"]

    response = client.get("/metrics", HTTP_HOST="web-2:8000", **AUTH)

    assert response.status_code == 200


@pytest.mark.django_db
def test_metrics_counts_a_request_by_route_and_status(client: Client, token: str) -> None:
    before = scrape(client)

    client.get("/readyz")
    client.get("/no-such-page/")
    after = scrape(client)

    readyz = {"route": "readyz", "method": "GET", "status": "200"}
    assert value(after, "academy_http_requests_total", **readyz) - value(before, "academy_http_requests_total", **readyz) == 1
    latency = {"route": "readyz", "method": "GET"}
    assert value(after, "academy_http_request_duration_seconds_count", **latency) - value(
        before, "academy_http_request_duration_seconds_count", **latency
    ) == 1
    page = {"route": "(wagtail page)", "method": "GET", "status": "404"}
    assert value(after, "academy_http_requests_total", **page) - value(before, "academy_http_requests_total", **page) == 1


@pytest.mark.django_db
def test_metrics_counts_an_event_by_name(client: Client, token: str, django_capture_on_commit_callbacks: Any) -> None:
    user = get_user_model().objects.create_user("ada", "ada@example.com", "pw-ada-123456")
    before = value(scrape(client), "academy_events_total", event="notification_created")

    with django_capture_on_commit_callbacks(execute=True):
        services.notification_create(user=user, kind="announcement", title="Hello")

    assert value(scrape(client), "academy_events_total", event="notification_created") - before == 1


@pytest.mark.django_db
def test_metrics_counts_a_queued_task_and_reports_the_queue(
    client: Client, token: str, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    before = value(scrape(client), "academy_tasks_queued_total", task="tests.tasks.worker_funcs.healthy")

    with django_capture_on_commit_callbacks(execute=True):
        enqueue("tests.tasks.worker_funcs.healthy", log_path="/dev/null", number=1)
    after = scrape(client)
    get_broker().purge_queue()

    assert value(after, "academy_tasks_queued_total", task="tests.tasks.worker_funcs.healthy") - before == 1
    assert value(after, "academy_task_queue_depth") == 1
    assert value(after, "academy_task_queue_oldest_age_seconds") >= 0


@pytest.mark.django_db(transaction=True)
def test_metrics_counts_websocket_connections_and_frames_by_stream(token: str, settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    learner = get_user_model().objects.create_user("ada", "ada@example.com", "pw-ada-123456")
    _, session = login_cookie(learner)
    client = Client()
    before = scrape(client)
    during: dict[Any, float] = {}

    async def scenario() -> None:
        from asgiref.sync import sync_to_async

        comm = communicator("/ws/notifications/", session)
        connected, _ = await comm.connect()
        assert connected
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from(timeout=10) == {"type": "pong"}
        during.update(await sync_to_async(scrape)(client))
        await comm.disconnect()
        anonymous = communicator("/ws/notifications/")
        await anonymous.connect()
        assert await receive_close(anonymous) == 4401

    run(scenario)
    after = scrape(client)

    stream = {"stream": "notifications"}
    assert value(during, "academy_websocket_connections", **stream) - value(before, "academy_websocket_connections", **stream) == 1
    assert value(after, "academy_websocket_connections", **stream) == value(before, "academy_websocket_connections", **stream)
    assert value(during, "academy_websocket_frames_sent_total", **stream) - value(
        before, "academy_websocket_frames_sent_total", **stream
    ) == 1


@pytest.mark.django_db
def test_metrics_counts_page_cache_hits_and_misses(client: Client, token: str) -> None:
    from tests.realtime.support import build_site

    build_site()
    before = scrape(client)

    anonymous = Client()
    first = anonymous.get("/courses/", HTTP_HOST="127.0.0.1")
    second = anonymous.get("/courses/", HTTP_HOST="127.0.0.1")
    after = scrape(client)

    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    for result in ("hit", "miss"):
        assert value(after, "academy_page_cache_requests_total", result=result) - value(
            before, "academy_page_cache_requests_total", result=result
        ) == 1
    hit = {"route": "(page cache)", "method": "GET", "status": "200"}
    assert value(after, "academy_http_requests_total", **hit) - value(before, "academy_http_requests_total", **hit) == 1


def test_metrics_counts_rate_limit_refusals_by_door(client: Client, token: str) -> None:
    limit = ratelimit.Limit(rule="metrics-test", ident="client-1", rate=ratelimit.Rate.parse("1/h"))
    before = value(scrape(client), "academy_ratelimit_refusals_total", door="signup")

    decisions = [ratelimit.check([limit], door="signup").allowed for _ in range(3)]

    assert decisions == [True, False, False]
    assert value(scrape(client), "academy_ratelimit_refusals_total", door="signup") - before == 2


def test_metric_names_are_all_exposed_with_the_academy_prefix(client: Client, token: str) -> None:
    text = client.get("/metrics", **AUTH).content.decode()

    # Families with labels appear once they have a sample; their HELP line is there at once.
    for name in METRIC_NAMES:
        assert name.startswith("academy_")
        if name not in {"academy_task_queue_depth", "academy_task_queue_oldest_age_seconds"}:
            assert f"# HELP {name} " in text


def test_token_matches_only_the_bearer_token() -> None:
    assert token_matches("Bearer abc123", "abc123")
    assert token_matches("bearer abc123", "abc123")
    assert not token_matches("Bearer abc1234", "abc123")
    assert not token_matches("Bearer abc123", "")
    assert not token_matches(None, "abc123")


@pytest.mark.parametrize(
    ("path", "stream"),
    [("/ws/progress/", "progress"), ("/ws/courses/12/", "courses"), ("/ws/p/quizzes/live/", "p/quizzes"), ("/x", "other")],
)
def test_websocket_stream_label_is_bounded(path: str, stream: str) -> None:
    assert websocket_stream(path) == stream


def test_grafana_dashboard_and_scrape_config_name_only_real_metrics() -> None:
    import json
    import re
    from pathlib import Path

    import yaml

    docs = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
    dashboard = json.loads((docs / "grafana-academy.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {re.sub(r"_(bucket|count|sum)$", "", name) for expr in expressions for name in re.findall(r"academy_[a-z_]+", expr)}
    scrape = yaml.safe_load((docs / "prometheus.yml").read_text())

    assert used == set(METRIC_NAMES)
    assert [(job["job_name"], job["dns_sd_configs"][0]["port"]) for job in scrape["scrape_configs"]] == [
        ("academy-web", 9100), ("academy-worker", 9100),
    ]
