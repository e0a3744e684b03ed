"""Domain events: Django signals sent after the writing transaction commits.

Definitions only (receivers live in ``receivers.py`` of each app or plugin). Every event has a
TypedDict payload; receivers get it as the ``payload`` keyword argument and the event name as
``sender``. Dispatch is ``send_robust``: a failing receiver is logged (and reported to Sentry)
and never breaks the request or the other receivers.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


class EnrollmentPayload(TypedDict):
    """enrollment_requested, enrollment_activated, enrollment_cancelled."""

    enrollment_id: int
    user_id: int
    course_id: int
    status: str


class LessonCompletedPayload(TypedDict):
    """lesson_completed: a learner finished a lesson (sent once per learner and lesson)."""

    user_id: int
    lesson_id: int
    course_id: int
    enrollment_id: int
    completed_lessons: int
    total_lessons: int
    percent: int
    next_lesson_id: int | None


class CourseCompletedPayload(TypedDict):
    """course_completed: every published lesson of the course is complete."""

    user_id: int
    course_id: int
    enrollment_id: int
    completed_at: str


class NotificationCreatedPayload(TypedDict):
    """notification_created: a notification row was stored for a learner."""

    notification_id: int
    user_id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: str


class NotificationReadPayload(TypedDict):
    """notification_read: a learner marked notifications as read."""

    user_id: int
    notification_ids: list[int]
    unread_count: int


class CourseContentPublishedPayload(TypedDict):
    """course_content_published: an editor published a course or lesson page (or a schedule did)."""

    page_id: int
    course_id: int
    page_type: str  # "course" or "lesson"
    title: str
    url: str
    revision_id: int | None
    first_publication: bool
    notify: bool  # False: the editor chose "minor change: don't notify learners"


class LearnerActivityPayload(TypedDict):
    """learner_activity: a learner recorded progress on a lesson (read some of it, or completed
    it); feeds the staff's live class view."""

    user_id: int
    course_id: int
    lesson_id: int
    completed: bool  # the lesson became complete in this call
    resume_lesson_id: int | None  # where the learner is now (the next lesson once this one is done)
    completed_lessons: int
    total_lessons: int
    percent: int
    at: str


class SessionsEndedPayload(TypedDict):
    """sessions_ended: every login session of a user ended (open sockets must close now)."""

    user_id: int
    reason: str  # "password_changed", "deactivated" or "logout_everywhere"


enrollment_requested = Signal()
enrollment_activated = Signal()
enrollment_cancelled = Signal()
lesson_completed = Signal()
course_completed = Signal()
notification_created = Signal()
notification_read = Signal()
course_content_published = Signal()
sessions_ended = Signal()
learner_activity = Signal()

EVENTS: dict[str, Signal] = {
    "enrollment_requested": enrollment_requested,
    "enrollment_activated": enrollment_activated,
    "enrollment_cancelled": enrollment_cancelled,
    "lesson_completed": lesson_completed,
    "course_completed": course_completed,
    "notification_created": notification_created,
    "notification_read": notification_read,
    "course_content_published": course_content_published,
    "sessions_ended": sessions_ended,
    "learner_activity": learner_activity,
}


def dispatch(name: str, payload: Any) -> None:
    """Send event ``name`` now, to every receiver, logging (never raising) receiver errors."""
    signal = EVENTS[name]
    for receiver, result in signal.send_robust(sender=name, payload=payload):
        if isinstance(result, Exception):
            logger.error(
                "receiver %r of event %s failed", receiver, name, exc_info=(type(result), result, result.__traceback__)
            )


def emit(name: str, payload: Any) -> None:
    """Send event ``name`` once the current transaction commits (at once outside one).

    Inside a request the receivers run after its response is sent (``academy.middleware``), in
    the order the events were committed.
    """
    from academy.middleware import run_after_response

    transaction.on_commit(lambda: run_after_response(lambda: dispatch(name, payload)), robust=True)
