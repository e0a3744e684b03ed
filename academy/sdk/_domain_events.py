"""SDK: core's domain events and their payload types (``learning.events``)."""

from __future__ import annotations

from learning.events import (
    CourseCompletedPayload,
    CourseContentPublishedPayload,
    EnrollmentPayload,
    LearnerActivityPayload,
    LessonCompletedPayload,
    NotificationCreatedPayload,
    NotificationReadPayload,
    course_completed,
    course_content_published,
    enrollment_activated,
    enrollment_cancelled,
    enrollment_requested,
    learner_activity,
    lesson_completed,
    notification_created,
    notification_read,
)

__all__ = [
    "CourseCompletedPayload",
    "CourseContentPublishedPayload",
    "EnrollmentPayload",
    "LearnerActivityPayload",
    "LessonCompletedPayload",
    "NotificationCreatedPayload",
    "NotificationReadPayload",
    "course_completed",
    "course_content_published",
    "enrollment_activated",
    "enrollment_cancelled",
    "enrollment_requested",
    "learner_activity",
    "lesson_completed",
    "notification_created",
    "notification_read",
]
