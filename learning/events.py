"""Domain events of learning: their payloads and their definitions.

Definitions only (receivers live in ``receivers.py`` of each app or plugin). Each event is an
:class:`academy.events.Event` bound to its TypedDict payload: ``lesson_completed.emit(payload)``
sends it after the writing transaction commits; receivers get ``payload`` as a keyword argument
and the event name as ``sender``. A failing receiver is logged (and reported to Sentry) and
never breaks the request or the other receivers; a plugin's receivers run only where the plugin
is active (for the payload's ``course_id``, or site-wide for events without one).
"""

from __future__ import annotations

from typing import TypedDict

from academy.events import Event
from learning.progress import ProgressData


class EnrollmentPayload(TypedDict):
    """enrollment_requested, enrollment_activated, enrollment_cancelled."""

    enrollment_id: int
    user_id: int
    course_id: int
    status: str


class LessonCompletedPayload(ProgressData):
    """lesson_completed: a learner finished a lesson (sent once per learner and lesson), with
    their progress in the course after it (``learning.progress.ProgressData``)."""

    user_id: int
    lesson_id: int
    enrollment_id: int


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


class LearnerActivityPayload(ProgressData):
    """learner_activity: a learner recorded progress on a lesson (read some of it, or completed
    it), with their progress in the course after it (``resume_lesson``: where they are now);
    feeds the staff's live class view."""

    user_id: int
    lesson_id: int
    completed: bool  # the lesson became complete in this call
    at: str


class SessionsEndedPayload(TypedDict):
    """sessions_ended: every login session of a user ended (open sockets must close now)."""

    user_id: int
    reason: str  # "password_changed", "deactivated" or "logout_everywhere"


class GradeChangedPayload(TypedDict):
    """grade_changed: a learner's grade on a graded lesson was recorded or overridden, with
    their course grade after it (``learning.gradebook``). Grades are percent strings ("85.5");
    ``course_grade`` / ``passed`` are None while nothing counts yet (``passed`` also when the
    course has no pass grade)."""

    user_id: int
    course_id: int
    lesson_id: int
    grade: str | None
    late: bool
    overridden: bool
    course_grade: str | None
    passed: bool | None


enrollment_requested = Event("enrollment_requested", EnrollmentPayload)
enrollment_activated = Event("enrollment_activated", EnrollmentPayload)
enrollment_cancelled = Event("enrollment_cancelled", EnrollmentPayload)
lesson_completed = Event("lesson_completed", LessonCompletedPayload)
course_completed = Event("course_completed", CourseCompletedPayload)
notification_created = Event("notification_created", NotificationCreatedPayload)
notification_read = Event("notification_read", NotificationReadPayload)
course_content_published = Event("course_content_published", CourseContentPublishedPayload)
sessions_ended = Event("sessions_ended", SessionsEndedPayload)
learner_activity = Event("learner_activity", LearnerActivityPayload)
grade_changed = Event("grade_changed", GradeChangedPayload)
