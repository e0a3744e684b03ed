"""Domain events -> certificate tasks. Runs only where the plugin is active for the course."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from academy.sdk import CourseCompletedPayload, course_completed, enqueue


@receiver(course_completed, dispatch_uid="certificates.issue_on_completion")
def issue_on_completion(sender: str, payload: CourseCompletedPayload, **kwargs: Any) -> None:
    """A learner completed a course: issue their certificate in the worker (idempotent there)."""
    enqueue(
        "plugins.certificates.tasks.issue_certificate",
        task_name=f"certificate u{payload['user_id']} c{payload['course_id']}",
        user_id=payload["user_id"],
        course_id=payload["course_id"],
    )
