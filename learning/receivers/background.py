"""Domain events -> background tasks (email, progress cache, course-update fan-out).

Events are dispatched after the writing transaction commits, and :func:`enqueue` only hands the
task to the broker (never waits on it, never raises), so a request is never slowed or broken by
what happens here. Tasks get ids only.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from academy.tasks import enqueue
from learning.events import (
    CourseCompletedPayload,
    CourseContentPublishedPayload,
    EnrollmentPayload,
    course_completed,
    course_content_published,
    enrollment_activated,
    enrollment_requested,
)
from learning.models import Enrollment


@receiver(enrollment_requested, dispatch_uid="learning.background.enrollment_requested")
def email_enrollment_requested(sender: str, payload: EnrollmentPayload, **kwargs: Any) -> None:
    """Approval courses: tell the learner their request arrived (open courses get the
    "you're in" email from ``enrollment_activated`` instead)."""
    if payload["status"] == Enrollment.Status.PENDING_APPROVAL:
        enqueue("learning.tasks.send_enrollment_email", enrollment_id=payload["enrollment_id"], event="requested")


@receiver(enrollment_activated, dispatch_uid="learning.background.enrollment_activated")
def email_enrollment_activated(sender: str, payload: EnrollmentPayload, **kwargs: Any) -> None:
    """Tell the learner they are enrolled (open course) or approved (approval course)."""
    enqueue("learning.tasks.send_enrollment_email", enrollment_id=payload["enrollment_id"], event="activated")


@receiver(course_completed, dispatch_uid="learning.background.course_completed")
def email_course_completed(sender: str, payload: CourseCompletedPayload, **kwargs: Any) -> None:
    """Congratulate the learner by email."""
    enqueue("learning.tasks.send_course_completed_email", enrollment_id=payload["enrollment_id"])


@receiver(course_content_published, dispatch_uid="learning.background.course_content_published")
def refresh_and_broadcast(sender: str, payload: CourseContentPublishedPayload, **kwargs: Any) -> None:
    """Recompute the course's cached progress and notify its learners of the change (unless
    the editor published it as a minor change)."""
    enqueue("learning.tasks.refresh_course_progress", course_id=payload["course_id"])
    if not payload.get("notify", True):
        return
    enqueue(
        "learning.tasks.broadcast_course_update",
        page_id=payload["page_id"],
        course_id=payload["course_id"],
        revision_id=payload["revision_id"],
        first_publication=payload["page_type"] == "lesson" and payload["first_publication"],
    )
