"""The JSON error contract holds for input no client should send and for our own bugs (issue 19,
finding 6): deeply nested JSON bodies and forged cursors are a JSON 400, an unexpected exception
in an API view is a JSON 500, still logged and reported to Sentry like any 500."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import sentry_sdk
from rest_framework.test import APIClient

from learning import services
from learning.api.errors import SERVER_ERROR_MESSAGE
from learning.api.parsers import MAX_JSON_DEPTH
from learning.models import Enrollment, LessonProgress, Notification
from tests.academy.test_sentry import CapturingTransport, init_sentry
from tests.courses.helpers import Tree
from tests.learning.api.conftest import session_client
from tests.learning.api.failing_urls import FAILURE_MESSAGE

pytestmark = pytest.mark.django_db

CURSOR_MESSAGE = "This cursor is not valid: follow the list's next or previous link."
TOO_DEEP_MESSAGE = f"JSON nested more than {MAX_JSON_DEPTH} levels deep."


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


# --- nested JSON ------------------------------------------------------------------------------------

WRITES = {
    "enroll": ("/api/v1/enrollments/", "course_id"),
    "progress": ("/api/v1/progress/", "lesson_id"),
    "mark_read": ("/api/v1/notifications/read/", "ids"),
}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 1_000, 100_000])
@pytest.mark.parametrize("write", sorted(WRITES))
def test_deeply_nested_json_is_a_json_400(tree: Tree, learner: Any, write: str, depth: int) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.notification_create(user=learner, kind="announcement", title="Hello")
    path, field = WRITES[write]
    response = session_client(learner).post(path, f'{{"{field}": {nested(depth)}}}', content_type="application/json")
    assert (response.status_code, response["Content-Type"], response.json()) == (
        400, "application/json",
        {"error": {"code": "parse_error", "message": TOO_DEEP_MESSAGE, "fields": {}}},
    )
    assert (Enrollment.objects.count(), LessonProgress.objects.count()) == (1, 0)
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_json_nested_up_to_the_limit_reaches_validation(tree: Tree, learner: Any) -> None:
    """One level under the limit is parsed and then refused by the field's own validation."""
    body = f'{{"course_id": {nested(MAX_JSON_DEPTH - 1)}}}'
    response = session_client(learner).post("/api/v1/enrollments/", body, content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"], list(response.json()["error"]["fields"])) == (
        400, "invalid", ["course_id"],
    )


# --- forged cursors -------------------------------------------------------------------------------


def cursor(**tokens: str) -> str:
    """A cursor as DRF writes them (base64 of a query string), with any content."""
    return quote(base64.b64encode(urlencode(tokens).encode()).decode())


FORGED = {
    "not_base64": "garbage",
    "not_ascii": quote("é"),
    "position_text": cursor(p="abc"),
    "position_decimal": cursor(p="1.5"),
    "position_out_of_range": cursor(p="9" * 30),
    "position_nul": cursor(p="00010001\x00"),
    "offset_negative": cursor(o="-1"),
    "reverse_text": cursor(r="x"),
}
LISTS = ("notifications", "enrollments", "progress", "courses", "lessons")


@pytest.mark.parametrize("forged", sorted(FORGED))
def test_forged_cursor_is_a_json_400_on_every_list(tree: Tree, learner: Any, forged: str) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    client = session_client(learner)
    answers = {name: client.get(f"/api/v1/{name}/?cursor={FORGED[forged]}") for name in LISTS}
    assert {name: (response.status_code, response.json()) for name, response in answers.items()} == {
        name: (400, {"error": {"code": "invalid", "message": "The request is not valid.",
                               "fields": {"cursor": [CURSOR_MESSAGE]}}})
        for name in LISTS
    }


def test_real_cursors_still_page(tree: Tree, learner: Any) -> None:
    for number in range(3):
        services.notification_create(user=learner, kind="announcement", title=f"Note {number}")
    client = session_client(learner)
    first = client.get("/api/v1/notifications/?page_size=2").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [row["title"] for row in first["results"] + second["results"]] == ["Note 2", "Note 1", "Note 0"]
    assert [row["title"] for row in back["results"]] == ["Note 2", "Note 1"]


# --- our own bugs ---------------------------------------------------------------------------------


@pytest.fixture
def sentry_events() -> Iterator[CapturingTransport]:
    transport = CapturingTransport({"dsn": "https://public@sentry.example.invalid/1"})
    init_sentry(dsn="https://public@sentry.example.invalid/1", environment="test", release="academy@9.9.9",
                transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()


@pytest.mark.parametrize("method", ["get", "post"])
def test_unexpected_exception_is_a_json_500_logged_and_reported(
    settings: Any, sentry_events: CapturingTransport, caplog: pytest.LogCaptureFixture, method: str,
) -> None:
    settings.ROOT_URLCONF = "tests.learning.api.failing_urls"
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = getattr(client, method)("/api/v1/test/fail/", {"a": 1}, format="json")
    sentry_sdk.flush()
    assert (response.status_code, response["Content-Type"], response.json()) == (
        500, "application/json",
        {"error": {"code": "server_error", "message": SERVER_ERROR_MESSAGE, "fields": {}}},
    )
    assert FAILURE_MESSAGE not in response.content.decode()
    logged = [(record.levelname, record.getMessage(), record.exc_info[0] if record.exc_info else None)
              for record in caplog.records if record.name == "django.request"]
    assert logged == [("ERROR", "Internal Server Error: /api/v1/test/fail/", RuntimeError)]
    reported = [event["exception"]["values"][-1] for event in sentry_events.events() if event.get("exception")]
    assert [(value["type"], value["value"]) for value in reported] == [("RuntimeError", FAILURE_MESSAGE)]


def test_unexpected_exception_reaches_the_test_client(settings: Any) -> None:
    """Django's got_request_exception is sent, as for any other 500: the test client re-raises."""
    settings.ROOT_URLCONF = "tests.learning.api.failing_urls"
    with pytest.raises(RuntimeError, match=FAILURE_MESSAGE):
        APIClient().get("/api/v1/test/fail/")
