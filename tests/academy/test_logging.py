"""Request ids and log lines in this process: where the id comes from, that it is returned, that it
rides along into deferred work and queued tasks, and what a JSON line holds.

The id's journey through a real worker process is in tests/siteconfig/test_operations.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django_q.brokers.orm import ORM
from django_q.conf import Conf

from academy import logging as academy_logging
from academy.middleware import run_after_response
from academy.tasks import enqueue
from tests.tasks.conftest import queued_tasks


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the root logger writes, formatted as production does (JSON, request-id filter)."""
    with captured_json() as stream:
        yield stream


@contextlib.contextmanager
def captured_json() -> Iterator[io.StringIO]:
    """Capture the root logger's records as production JSON lines while the block runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(academy_logging.JsonFormatter())
    handler.addFilter(academy_logging.RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_request_gets_a_fresh_id_and_returns_it(client: Client, settings: Any) -> None:
    settings.ACADEMY_TRUST_REQUEST_ID = False

    response = client.get("/readyz", HTTP_X_REQUEST_ID="client-chosen-id-1")

    assert response["X-Request-ID"] != "client-chosen-id-1"
    assert len(response["X-Request-ID"]) == 32
    assert int(response["X-Request-ID"], 16) >= 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "kept"),
    [("proxy-0123456789", True), ("a" * 129, False), ("short", False), ("bad id with spaces", False)],
)
def test_trusted_proxy_id_is_kept_when_well_formed(client: Client, settings: Any, header: str, kept: bool) -> None:
    settings.ACADEMY_TRUST_REQUEST_ID = True

    response = client.get("/readyz", HTTP_X_REQUEST_ID=header)

    assert (response["X-Request-ID"] == header) is kept


@pytest.mark.django_db
def test_access_line_is_one_json_object_with_the_request_fields(
    client: Client, settings: Any, json_lines: io.StringIO, django_user_model: Any
) -> None:
    settings.ACADEMY_TRUST_REQUEST_ID = True
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-ada-123456")
    client.force_login(user)

    client.get("/dashboard/", HTTP_X_REQUEST_ID="req-json-0001")

    lines = [line for line in parsed(json_lines) if line["logger"] == "academy.request"]
    assert len(lines) == 1
    line = lines[0]
    assert sorted(line) == [
        "duration_ms", "level", "logger", "message", "method", "path", "request_id", "route", "status",
        "timestamp", "user_id",
    ]
    assert {key: line[key] for key in ("level", "message", "method", "path", "request_id", "route", "status", "user_id")} == {
        "level": "INFO", "message": "GET /dashboard/ 200", "method": "GET", "path": "/dashboard/",
        "request_id": "req-json-0001", "route": "dashboard/", "status": 200, "user_id": user.pk,
    }


def test_lines_outside_a_request_carry_a_dash(json_lines: io.StringIO) -> None:
    logging.getLogger("academy.test").warning("no request here")

    assert parsed(json_lines)[-1]["request_id"] == "-"
    assert parsed(json_lines)[-1]["level"] == "WARNING"


@pytest.mark.django_db
def test_queued_task_carries_the_request_id(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Conf, "ORM", "default")
    broker = ORM(list_key=Conf.CLUSTER_NAME)
    broker.purge_queue()
    token = academy_logging.bind_request_id("req-task-0001")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            enqueue("tests.tasks.worker_funcs.healthy", log_path="/dev/null", number=1)
    finally:
        academy_logging.reset_request_id(token)
    packages = queued_tasks(broker)
    broker.purge_queue()

    assert [(package["func"], package["request_id"]) for package in packages] == [
        ("tests.tasks.worker_funcs.healthy", "req-task-0001"),
    ]


def test_work_deferred_after_the_response_keeps_the_request_id() -> None:
    from academy.middleware import _after_response, _drain

    seen: list[str | None] = []
    queue: list[Any] = []
    queue_token = _after_response.set(queue)
    id_token = academy_logging.bind_request_id("req-deferred-01")
    try:
        run_after_response(lambda: seen.append(academy_logging.current_request_id()))
    finally:
        academy_logging.reset_request_id(id_token)
        _after_response.reset(queue_token)
    _drain(queue)  # as response.close() does, outside the request's context

    assert seen == ["req-deferred-01"]


def test_worker_binds_the_task_request_id_while_it_runs(json_lines: io.StringIO) -> None:
    task = {"id": "abc", "name": "lima-bravo", "func": "tests.tasks.worker_funcs.healthy", "request_id": "req-worker-01"}

    academy_logging.task_started(sender="django_q", func=None, task=task)
    during = academy_logging.current_request_id()
    academy_logging.task_finished(sender="django_q", func=None, task={**task, "success": True})

    assert during == "req-worker-01"
    assert academy_logging.current_request_id() is None
    lines = [line for line in parsed(json_lines) if line["logger"] == "academy.tasks"]
    assert [(line["message"], line["request_id"], line["task"]) for line in lines] == [
        ("task tests.tasks.worker_funcs.healthy started", "req-worker-01", "tests.tasks.worker_funcs.healthy"),
        ("task tests.tasks.worker_funcs.healthy succeeded", "req-worker-01", "tests.tasks.worker_funcs.healthy"),
    ]


@pytest.mark.django_db
def test_a_push_logs_the_request_id_that_caused_it(json_lines: io.StringIO) -> None:
    from realtime.publish import publish

    token = academy_logging.bind_request_id("req-push-00001")
    try:
        event = publish(group="test.group", event_type="notification.created", data={"id": 1})
    finally:
        academy_logging.reset_request_id(token)

    lines = [line for line in parsed(json_lines) if line["logger"] == "realtime.publish"]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        (f"push notification.created #{event.pk} to test.group", "req-push-00001"),
    ]


@pytest.mark.django_db(transaction=True)
def test_consumer_lines_carry_the_handshake_request_id(settings: Any) -> None:
    from channels.testing import WebsocketCommunicator

    # Imported before capturing: its django.setup() configures logging afresh.
    from siteconfig.asgi import application
    from tests.realtime.support import receive_close, run

    settings.ACADEMY_TRUST_REQUEST_ID = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    codes: list[int] = []

    async def scenario() -> None:
        comm = WebsocketCommunicator(application, "/ws/notifications/", headers=[
            (b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1"), (b"x-request-id", b"req-socket-0001"),
        ])
        await comm.connect()
        codes.append(await receive_close(comm))

    with captured_json() as json_lines:
        run(scenario)

    lines = [line for line in parsed(json_lines) if line["logger"] == "realtime.consumers"]
    assert codes == [4401]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("websocket /ws/notifications/ refused with 4401", "req-socket-0001"),
    ]
