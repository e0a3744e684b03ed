"""Domain events -> live pushes. Connected by ``RealtimeConfig.ready()``.

Domain events are dispatched after their transaction commits (``Event.emit``), so each
receiver here stores and sends its event through ``publish()`` at once. Payload shapes are the
WebSocket contract in the team notes; each has a TypedDict below.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from learning import events
from learning.progress import ProgressData, progress_fields
from realtime import groups
from realtime.publish import publish


class ProgressUpdatedData(ProgressData):
    """progress.updated: the learner's progress in one course changed (``learning.progress.
    ProgressData``, the same shape as the API's), after completing lesson ``lesson_id``."""

    lesson_id: int


class NotificationCreatedData(TypedDict):
    """notification.created: a new notification (and the unread count after it)."""

    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: str
    unread_count: int


class NotificationReadData(TypedDict):
    """notification.read: notifications marked read (and the unread count after it)."""

    ids: list[int]
    unread_count: int


class CourseUpdatedData(TypedDict):
    """course.updated: an editor published a change to the course or one of its lessons."""

    course_id: int
    page_id: int
    page_type: str
    title: str
    url: str


class LessonPublishedData(TypedDict):
    """lesson.published: a lesson went live for the first time (e.g. on its schedule)."""

    course_id: int
    page_id: int
    title: str
    url: str


class EnrollmentActivatedData(TypedDict):
    """enrollment.activated: the learner may now open the course's lessons."""

    course_id: int
    enrollment_id: int
    status: str


def _unread_count(user_id: int) -> int:
    from learning.selectors import unread_notification_count

    return unread_notification_count(user_id=user_id)


@receiver(events.lesson_completed, dispatch_uid="realtime.progress_updated")
def push_progress_updated(sender: str, payload: events.LessonCompletedPayload, **kwargs: Any) -> None:
    """lesson_completed -> progress.updated to every socket of the learner (no query but the
    outbox row: the payload carries the progress with its links)."""
    data = ProgressUpdatedData(lesson_id=payload["lesson_id"], **progress_fields(payload))
    publish(group=groups.user_progress(payload["user_id"]), event_type="progress.updated", data=data)


@receiver(events.notification_created, dispatch_uid="realtime.notification_created")
def push_notification_created(sender: str, payload: events.NotificationCreatedPayload, **kwargs: Any) -> None:
    """notification_created -> notification.created to the learner's notification sockets."""
    data = NotificationCreatedData(
        id=payload["notification_id"],
        kind=payload["kind"],
        title=payload["title"],
        body=payload["body"],
        link=payload["link"],
        created_at=payload["created_at"],
        unread_count=_unread_count(payload["user_id"]),
    )
    publish(group=groups.user_notifications(payload["user_id"]), event_type="notification.created", data=data)


@receiver(events.notification_read, dispatch_uid="realtime.notification_read")
def push_notification_read(sender: str, payload: events.NotificationReadPayload, **kwargs: Any) -> None:
    """notification_read -> notification.read to the learner's notification sockets."""
    data = NotificationReadData(ids=list(payload["notification_ids"]), unread_count=payload["unread_count"])
    publish(group=groups.user_notifications(payload["user_id"]), event_type="notification.read", data=data)


@receiver(events.course_content_published, dispatch_uid="realtime.course_content_published")
def push_course_content(sender: str, payload: events.CourseContentPublishedPayload, **kwargs: Any) -> None:
    """A lesson's first publication -> lesson.published; any other publish -> course.updated.
    A minor change (``notify`` false) pushes nothing: no banner, no toast."""
    if not payload.get("notify", True):
        return
    group = groups.course(payload["course_id"])
    if payload["page_type"] == "lesson" and payload["first_publication"]:
        lesson = LessonPublishedData(
            course_id=payload["course_id"], page_id=payload["page_id"], title=payload["title"], url=payload["url"]
        )
        publish(group=group, event_type="lesson.published", data=lesson)
        return
    update = CourseUpdatedData(
        course_id=payload["course_id"],
        page_id=payload["page_id"],
        page_type=payload["page_type"],
        title=payload["title"],
        url=payload["url"],
    )
    publish(group=group, event_type="course.updated", data=update)


@receiver(events.enrollment_activated, dispatch_uid="realtime.enrollment_activated")
def push_enrollment_activated(sender: str, payload: events.EnrollmentPayload, **kwargs: Any) -> None:
    """enrollment_activated -> enrollment.activated to the learner's progress sockets."""
    data = EnrollmentActivatedData(
        course_id=payload["course_id"], enrollment_id=payload["enrollment_id"], status=payload["status"]
    )
    publish(group=groups.user_progress(payload["user_id"]), event_type="enrollment.activated", data=data)


@receiver(events.enrollment_cancelled, dispatch_uid="realtime.course_access_revoked")
def close_cancelled_course_sockets(sender: str, payload: events.EnrollmentPayload, **kwargs: Any) -> None:
    """enrollment_cancelled -> the learner's open sockets on that course stream close (4403),
    unless they follow that course anyway (staff and editors, its teachers and assistants).
    Stored, so the relay carries it."""
    from django.contrib.auth import get_user_model

    from learning.access import viewer

    user = get_user_model().objects.filter(pk=payload["user_id"]).first()
    if user is not None and viewer(user).privileged_in(payload["course_id"]):
        return
    group = groups.course_member(payload["course_id"], payload["user_id"])
    publish(group=group, event_type="course.access_revoked", data={})


class ClassActivityData(ProgressData):
    """class.activity: a learner recorded progress on a lesson (the staff's live class view):
    who, which lesson, and their progress in the course after it (``resume_lesson``: where they
    are now)."""

    user_id: int
    name: str
    lesson_id: int
    completed: bool
    at: str


@receiver(events.learner_activity, dispatch_uid="realtime.class_activity")
def push_class_activity(sender: str, payload: events.LearnerActivityPayload, **kwargs: Any) -> None:
    """learner_activity -> class.activity to the course's staff sockets (one query: the
    learner's name; the live class page knows the lesson titles)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=payload["user_id"]).only("username", "first_name", "last_name").first()
    if user is None:
        return
    full = user.get_full_name()
    data = ClassActivityData(
        user_id=payload["user_id"],
        name=f"{full} ({user.get_username()})" if full else user.get_username(),
        lesson_id=payload["lesson_id"],
        completed=payload["completed"],
        at=payload["at"],
        **progress_fields(payload),
    )
    publish(group=groups.course_staff(payload["course_id"]), event_type="class.activity", data=data)


@receiver(user_logged_out, dispatch_uid="realtime.session_ended")
def close_logged_out_sockets(sender: type, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """Logout -> session.ended to that session's sockets (stored, so the relay carries it too)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        publish(group=groups.session(session_key), event_type="session.ended", data={})



@receiver(events.sessions_ended, dispatch_uid="realtime.sessions_ended")
def close_all_user_sockets(sender: str, payload: events.SessionsEndedPayload, **kwargs: Any) -> None:
    """sessions_ended (password change, deactivation, "log out everywhere") -> every socket of
    the user closes at once, on every process (stored, so the relay carries it too)."""
    publish(group=groups.user_sessions(payload["user_id"]), event_type="session.ended", data={})
