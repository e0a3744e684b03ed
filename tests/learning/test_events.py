"""Domain events: exact payloads, sent only after commit, and the learner notifications they raise."""

from __future__ import annotations

from typing import Any

import pytest

from learning import services
from learning.models import Enrollment, Notification
from tests.courses.helpers import Tree

pytestmark = pytest.mark.django_db

Events = list[tuple[str, dict[str, Any]]]


def names(events: Events) -> list[str]:
    return [name for name, _payload in events]


def payloads(events: Events, name: str) -> list[dict[str, Any]]:
    return [payload for event, payload in events if event == name]


def test_events_wait_for_commit(tree: Tree, learner: Any, captured_events: Events, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.enrollment_request(user=learner, course=tree.python)
    assert captured_events == []
    for callback in callbacks:
        callback()
    assert names(captured_events)[:2] == ["enrollment_requested", "enrollment_activated"]


def test_enrollment_request_open_course_payloads(
    tree: Tree, learner: Any, captured_events: Events, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = services.enrollment_request(user=learner, course=tree.python).enrollment
    expected = {"enrollment_id": enrollment.pk, "user_id": learner.pk, "course_id": tree.python.pk, "status": "active"}
    assert payloads(captured_events, "enrollment_requested") == [expected]
    assert payloads(captured_events, "enrollment_activated") == [expected]
    note = Notification.objects.get(user=learner)
    assert (note.kind, note.title, note.link) == (
        "enrollment_approved", "You are enrolled in Python basics", "/courses/python-basics/variables/",
    )
    assert payloads(captured_events, "notification_created") == [
        {
            "notification_id": note.pk, "user_id": learner.pk, "kind": "enrollment_approved",
            "title": "You are enrolled in Python basics",
            "body": "Happy learning! Your progress is saved as you complete lessons.",
            "link": "/courses/python-basics/variables/", "created_at": note.created_at.isoformat(),
        }
    ]
    # A repeated request sends nothing.
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_request(user=learner, course=tree.python)
    assert captured_events == []


def test_approval_flow_payloads_and_notifications(
    tree: Tree, learner: Any, staff: Any, captured_events: Events, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = services.enrollment_request(user=learner, course=tree.sql).enrollment
    base = {"enrollment_id": enrollment.pk, "user_id": learner.pk, "course_id": tree.sql.pk}
    assert names(captured_events) == ["enrollment_requested", "notification_created"]
    assert payloads(captured_events, "enrollment_requested") == [{**base, "status": "pending_approval"}]
    ack = Notification.objects.get(user=learner)
    assert (ack.kind, ack.title) == ("enrollment_requested", "We received your request to join Databases with SQL")

    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_approve(enrollment=enrollment, by=staff)
    assert names(captured_events) == ["enrollment_activated", "notification_created"]
    assert payloads(captured_events, "enrollment_activated") == [{**base, "status": "active"}]
    approved = Notification.objects.filter(user=learner).first()
    assert (approved.kind, approved.title) == ("enrollment_approved", "Your enrollment in Databases with SQL was approved")

    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_cancel(enrollment=enrollment, by=staff)
    assert names(captured_events) == ["enrollment_cancelled", "notification_created"]
    assert payloads(captured_events, "enrollment_cancelled") == [{**base, "status": "cancelled"}]
    cancelled = Notification.objects.filter(user=learner).first()
    assert (cancelled.kind, cancelled.title) == ("enrollment_cancelled", "Your enrollment in Databases with SQL was cancelled")


def test_self_cancel_sends_event_without_notification(
    tree: Tree, learner: Any, captured_events: Events, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment = services.enrollment_request(user=learner, course=tree.python).enrollment
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_cancel(enrollment=enrollment, by=learner)
    assert names(captured_events) == ["enrollment_cancelled"]


def test_lesson_and_course_completed_payloads(
    tree: Tree, learner: Any, captured_events: Events, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment = services.enrollment_request(user=learner, course=tree.python).enrollment
    first, second, third = tree.lessons
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_progress_record(user=learner, lesson=first)
        services.lesson_progress_record(user=learner, lesson=first)  # again: no event
        services.lesson_progress_record(user=learner, lesson=second)
        services.lesson_progress_record(user=learner, lesson=third)
    common = {"user_id": learner.pk, "course_id": tree.python.pk, "enrollment_id": enrollment.pk, "total_lessons": 3}
    active = {"status": "active", "status_label": "Active", "course_completed": False}
    done = {"status": "completed", "status_label": "Completed", "course_completed": True}
    second_link = {"id": second.pk, "title": "Functions", "url": "/courses/python-basics/functions/"}
    third_link = {"id": third.pk, "title": "Modules", "url": "/courses/python-basics/modules/"}
    assert payloads(captured_events, "lesson_completed") == [
        {**common, **active, "lesson_id": first.pk, "completed_lessons": 1, "percent": 33,
         "next_lesson": second_link, "resume_lesson": second_link},
        {**common, **active, "lesson_id": second.pk, "completed_lessons": 2, "percent": 66,
         "next_lesson": third_link, "resume_lesson": third_link},
        {**common, **done, "lesson_id": third.pk, "completed_lessons": 3, "percent": 100,
         "next_lesson": None, "resume_lesson": None},
    ]
    enrollment.refresh_from_db()
    assert payloads(captured_events, "course_completed") == [
        {"user_id": learner.pk, "course_id": tree.python.pk, "enrollment_id": enrollment.pk,
         "completed_at": enrollment.completed_at.isoformat()},
    ]
    done = Notification.objects.filter(user=learner).first()
    assert (done.kind, done.title, done.link) == ("course_completed", "You completed Python basics", "/courses/python-basics/")
    assert enrollment.status == Enrollment.Status.COMPLETED


def test_notification_read_payload(
    learner: Any, captured_events: Events, django_capture_on_commit_callbacks: Any
) -> None:
    notes = [services.notification_create(user=learner, kind="announcement", title=f"n{i}") for i in range(3)]
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_mark_read(user=learner, notification_ids=[notes[1].pk, notes[0].pk])
        services.notification_mark_read(user=learner, notification_ids=[notes[0].pk])  # already read: no event
    assert captured_events == [
        ("notification_read", {"user_id": learner.pk, "notification_ids": [notes[0].pk, notes[1].pk], "unread_count": 1}),
    ]


def test_notification_title_of_a_long_course_name_is_shortened(
    tree: Tree, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.courses.helpers import make_course

    course = make_course(tree.catalog, "A" * 250, slug="long")
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_request(user=learner, course=course)
    note = Notification.objects.get(user=learner)
    assert (len(note.title), note.title[-1]) == (200, "…")
