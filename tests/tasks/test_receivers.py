"""Domain events enqueue the right tasks, with ids only, after commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django_q.brokers import Broker

from learning import events
from learning.events import (
    CourseCompletedPayload,
    CourseContentPublishedPayload,
    EnrollmentPayload,
)
from tests.tasks.conftest import queued_tasks

pytestmark = pytest.mark.django_db

ENQUEUE_BROKERS = ["orm", pytest.param("redis", marks=pytest.mark.redis)]


def _queued(queue: Broker) -> list[tuple[str, dict[str, Any]]]:
    """Core's tasks on the queue (installed plugins' receivers enqueue their own, e.g. the
    certificates plugin on course_completed; tests/plugins/ checks those)."""
    return [(task["func"], task["kwargs"]) for task in queued_tasks(queue) if not task["func"].startswith("plugins.")]


def _enrollment(status: str) -> EnrollmentPayload:
    return EnrollmentPayload(enrollment_id=7, user_id=3, course_id=11, status=status)


@pytest.mark.parametrize("broker_name", ENQUEUE_BROKERS, indirect=True)
def test_enrollment_requested_for_approval_enqueues_the_request_email(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.enrollment_requested.emit(_enrollment("pending_approval"))

    assert _queued(queue) == [
        ("learning.tasks.send_enrollment_email", {"enrollment_id": 7, "event": "requested"})
    ]


def test_enrollment_requested_on_an_open_course_enqueues_nothing(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.enrollment_requested.emit(_enrollment("active"))

    assert _queued(queue) == []


def test_enrollment_activated_enqueues_the_welcome_email(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        events.enrollment_activated.emit(_enrollment("active"))

    assert _queued(queue) == [
        ("learning.tasks.send_enrollment_email", {"enrollment_id": 7, "event": "activated"})
    ]


def test_course_completed_enqueues_the_congratulations_email(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    payload = CourseCompletedPayload(user_id=3, course_id=11, enrollment_id=7, completed_at="2026-01-01T00:00:00+00:00")
    with django_capture_on_commit_callbacks(execute=True):
        events.course_completed.emit(payload)

    assert _queued(queue) == [("learning.tasks.send_course_completed_email", {"enrollment_id": 7})]


def test_course_content_published_enqueues_cache_refresh_and_broadcast(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    payload = CourseContentPublishedPayload(
        page_id=12, course_id=11, page_type="lesson", title="Loops", url="/courses/py/loops/",
        revision_id=40, first_publication=False, notify=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.course_content_published.emit(payload)

    assert _queued(queue) == [
        ("learning.tasks.refresh_course_progress", {"course_id": 11}),
        ("learning.tasks.broadcast_course_update", {"page_id": 12, "course_id": 11, "revision_id": 40,
                                                  "first_publication": False}),
    ]


def test_a_minor_change_refreshes_progress_and_notifies_nobody(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    payload = CourseContentPublishedPayload(
        page_id=12, course_id=11, page_type="lesson", title="Loops", url="/courses/py/loops/",
        revision_id=41, first_publication=False, notify=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.course_content_published.emit(payload)

    assert _queued(queue) == [("learning.tasks.refresh_course_progress", {"course_id": 11})]


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                events.enrollment_activated.emit(_enrollment("active"))
                raise RuntimeError("the service failed")
        except RuntimeError:
            pass

    assert callbacks == []
    assert _queued(queue) == []
