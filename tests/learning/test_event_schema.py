"""Every domain event, sent by the real code paths, matches its payload's TypedDict (zulip-style:
each event is checked against its schema), and the check refuses a wrong payload."""

from __future__ import annotations

from typing import Any

import pytest

from academy.events import EVENTS, PayloadError, check_payload
from academy.plugins.registry import plugins
from academy.sdk import build_world
from learning import events, gradebook, services
from learning.sessions import sessions_end_all

pytestmark = pytest.mark.django_db


def test_every_event_sent_by_core_matches_its_schema(django_capture_on_commit_callbacks: Any) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    def capture(sender: str, payload: dict[str, Any], **kwargs: Any) -> None:
        sent.append((sender, payload))

    for event in EVENTS.values():
        event.connect(capture, weak=False, dispatch_uid=f"schema-test.{event.name}")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            world = build_world(learners=2)  # enrollment_requested, enrollment_activated
        learner, other = world.learners
        with django_capture_on_commit_callbacks(execute=True):
            for lesson in world.lessons:  # lesson_completed x3, course_completed
                services.lesson_progress_record(user=learner, lesson=lesson.pk)
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_create(user=learner, kind="announcement", title="Hello")
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_mark_read(user=learner)
        with django_capture_on_commit_callbacks(execute=True):
            services.enrollment_cancel(enrollment=world.enrollments[-1].pk, by=other)
        with django_capture_on_commit_callbacks(execute=True):
            world.lessons[0].specific.save_revision().publish()
        with django_capture_on_commit_callbacks(execute=True):
            sessions_end_all(user=other)
        from tests.plugins.quizzes.helpers import make_quiz  # a graded lesson kind

        quiz = make_quiz(world.course)
        with django_capture_on_commit_callbacks(execute=True):
            gradebook.grade_record(user=learner, lesson=quiz, score=80)  # grade_changed
    finally:
        for event in EVENTS.values():
            event.disconnect(dispatch_uid=f"schema-test.{event.name}")

    # Plugins' own events are named "<label>_<name>" (docs/plugins.md); their tests send them.
    plugin_prefixes = tuple(f"{plugin.label}_" for plugin in plugins())
    assert {name for name, _ in sent} == {name for name in EVENTS if not name.startswith(plugin_prefixes)}
    for name, payload in sent:
        check_payload(EVENTS[name], payload)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"user_id": 1}, "missing keys"),
        ({"user_id": 1, "reason": "x", "extra": 1}, "unexpected keys"),
        ({"user_id": "1", "reason": "x"}, "user_id='1'"),
        ({"user_id": True, "reason": "x"}, "user_id=True"),
        ({"user_id": 1, "reason": None}, "reason=None"),
        ([("user_id", 1)], "must be a dict"),
    ],
)
def test_a_wrong_payload_is_refused_where_it_is_sent(payload: Any, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        events.sessions_ended.emit(payload)


def test_optional_and_list_fields_are_checked() -> None:
    good = {"user_id": 1, "notification_ids": [1, 2], "unread_count": 0}
    check_payload(events.notification_read, good)
    with pytest.raises(PayloadError, match="notification_ids"):
        check_payload(events.notification_read, {**good, "notification_ids": [1, "2"]})
    base = {"user_id": 1, "lesson_id": 2, "course_id": 3, "enrollment_id": 4, "completed_lessons": 1,
            "total_lessons": 2, "percent": 50, "status": "active", "status_label": "Active",
            "course_completed": False, "resume_lesson": None}
    link = {"id": 5, "title": "Loops", "url": "/courses/py/loops/"}
    check_payload(events.lesson_completed, {**base, "next_lesson": None})
    check_payload(events.lesson_completed, {**base, "next_lesson": link})
    # A nested shape (the lesson link) is checked like the payload: exact keys, typed values.
    with pytest.raises(PayloadError, match="next_lesson"):
        check_payload(events.lesson_completed, {**base, "next_lesson": 5})
    with pytest.raises(PayloadError, match="next_lesson"):
        check_payload(events.lesson_completed, {**base, "next_lesson": {**link, "id": "5"}})
    with pytest.raises(PayloadError, match="next_lesson"):
        check_payload(events.lesson_completed, {**base, "next_lesson": {"id": 5, "title": "Loops"}})
