"""Domain events -> certificate tasks. Runs only where the plugin is active for the course."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from academy.sdk import (
    CourseCompletedPayload,
    GradeChangedPayload,
    course_completed,
    enqueue,
    grade_changed,
    switch_off_impact,
)
from plugins.certificates import events  # noqa: F401  (defines certificates_issued at start-up)


@receiver(course_completed, dispatch_uid="certificates.issue_on_completion")
def issue_on_completion(sender: str, payload: CourseCompletedPayload, **kwargs: Any) -> None:
    """A learner completed a course: issue their certificate in the worker (idempotent there)."""
    enqueue(
        "plugins.certificates.tasks.issue_certificate",
        task_name=f"certificate u{payload['user_id']} c{payload['course_id']}",
        user_id=payload["user_id"],
        course_id=payload["course_id"],
    )


@receiver(grade_changed, dispatch_uid="certificates.issue_on_passing_grade")
def issue_on_passing_grade(sender: str, payload: GradeChangedPayload, **kwargs: Any) -> None:
    """A grade or an override made a learner's course grade pass: issue their certificate if they
    completed the course and have none yet (the task checks both, and the pass, again)."""
    if not payload["passed"]:
        return
    enqueue(
        "plugins.certificates.tasks.issue_certificate",
        task_name=f"certificate u{payload['user_id']} c{payload['course_id']}",
        user_id=payload["user_id"],
        course_id=payload["course_id"],
    )


@receiver(switch_off_impact, dispatch_uid="certificates.switch_off_impact")
def certificates_of_changed_courses(sender: Any, plugin: str, course_ids: list[int], **kwargs: Any) -> list[tuple[str, int]]:
    """Another plugin switched off changes completion in ``course_ids``: their valid certificates
    no longer match what the course asks (the editor is told how many before confirming)."""
    from plugins.certificates.models import Certificate

    count = Certificate.objects.filter(course_id__in=course_ids, status=Certificate.Status.VALID).count()
    return [("certificates issued in those courses", count)]
