"""Learner notifications raised by domain events (connected on import by ``learning.receivers``).

Receivers take ids from the payload, load what they need and call ``notification_create``;
they run after the writing transaction committed, so a failure here never undoes it.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils.text import Truncator

from courses.models import CoursePage
from learning import access
from learning.events import (
    CourseCompletedPayload,
    EnrollmentPayload,
    course_completed,
    enrollment_activated,
    enrollment_cancelled,
    enrollment_requested,
)
from learning.models import Enrollment, Notification
from learning.selectors import page_url
from learning.services import notification_create
from learning.staff_selectors import enrolled_by_staff


def _enrollment(payload: EnrollmentPayload | CourseCompletedPayload) -> Enrollment | None:
    return (
        Enrollment.objects.select_related("user", "course", "next_lesson")
        .defer("course__description", "next_lesson__body")
        .filter(pk=payload["enrollment_id"])
        .first()
    )


def _course_link(course: CoursePage) -> str:
    return page_url(course)


def _title(text: str) -> str:
    """Course titles may be longer than a notification title allows: shorten, never fail."""
    return Truncator(text).chars(Notification._meta.get_field("title").max_length)


@receiver(enrollment_requested, dispatch_uid="learning.notifications.enrollment_requested")
def on_enrollment_requested(sender: str, payload: EnrollmentPayload, **kwargs: Any) -> None:
    """Acknowledge a request for an approval-required course."""
    if payload["status"] != Enrollment.Status.PENDING_APPROVAL:
        return
    enrollment = _enrollment(payload)
    if enrollment is None or enrollment.status != Enrollment.Status.PENDING_APPROVAL:
        return
    notification_create(
        user=enrollment.user,
        kind=Notification.Kind.ENROLLMENT_REQUESTED,
        title=_title(f"We received your request to join {enrollment.course.title}"),
        body="Our staff will review it soon. We will let you know here as soon as it is approved.",
        link=_course_link(enrollment.course),
    )


@receiver(enrollment_activated, dispatch_uid="learning.notifications.enrollment_activated")
def on_enrollment_activated(sender: str, payload: EnrollmentPayload, **kwargs: Any) -> None:
    """Tell the learner they are in: approved by staff (they asked), enrolled by staff (manual or
    bulk enrollment, they never asked), or enrolled by themself in an open course."""
    enrollment = _enrollment(payload)
    if enrollment is None or not access.has_access_status(enrollment.status):
        return
    course = enrollment.course
    if enrollment.decided_by_id and enrolled_by_staff(enrollment):
        title = f"You were enrolled in {course.title}"
        body = "You can start the course now."
    elif enrollment.decided_by_id:
        title = f"Your enrollment in {course.title} was approved"
        body = "You can start the course now."
    else:
        title = f"You are enrolled in {course.title}"
        body = "Happy learning! Your progress is saved as you complete lessons."
    link = page_url(enrollment.next_lesson) if enrollment.next_lesson else _course_link(course)
    notification_create(
        user=enrollment.user, kind=Notification.Kind.ENROLLMENT_APPROVED, title=_title(title), body=body, link=link
    )


@receiver(enrollment_cancelled, dispatch_uid="learning.notifications.enrollment_cancelled")
def on_enrollment_cancelled(sender: str, payload: EnrollmentPayload, **kwargs: Any) -> None:
    """Tell the learner when someone else (staff) cancelled their enrollment."""
    enrollment = _enrollment(payload)
    if enrollment is None or enrollment.decided_by_id == enrollment.user_id:
        return
    notification_create(
        user=enrollment.user,
        kind=Notification.Kind.ENROLLMENT_CANCELLED,
        title=_title(f"Your enrollment in {enrollment.course.title} was cancelled"),
        body="Contact us if you think this is a mistake. Your progress is kept.",
        link=_course_link(enrollment.course),
    )


@receiver(course_completed, dispatch_uid="learning.notifications.course_completed")
def on_course_completed(sender: str, payload: CourseCompletedPayload, **kwargs: Any) -> None:
    """Congratulate the learner on finishing a course."""
    enrollment = _enrollment(payload)
    if enrollment is None:
        return
    notification_create(
        user=enrollment.user,
        kind=Notification.Kind.COURSE_COMPLETED,
        title=_title(f"You completed {enrollment.course.title}"),
        body="Congratulations! Every lesson is done.",
        link=_course_link(enrollment.course),
    )
