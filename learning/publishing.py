"""Publishing with care: what unpublishing or deleting a course or lesson does to its learners,
and the editor's "minor change: don't notify learners" choice.

- ``learner_impact`` counts the learners and progress a course or lesson carries, and
  ``impact_warning`` says in words what unpublishing or deleting it does to them; the admin's
  unpublish and delete confirmations show it (``learning.wagtail_hooks``).
- ``quiet_publish``: the edit view's "Publish: minor change" button sets it for the request
  (``mark_quiet_publish``); ``learning.receivers.pages`` reads it into the
  ``course_content_published`` payload (``notify=False``), so learners get no notification,
  banner or toast for that publish. It is reset when the request finishes.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from django.core.signals import request_finished
from django.db.models import Count, Q

from courses.models import CoursePage, LessonPage
from learning import access
from learning.models import Enrollment, LessonProgress

# The value of the "Publish: minor change" button (Wagtail publishes on any "action-publish").
QUIET_PUBLISH_VALUE = "quiet"

_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("academy_quiet_publish", default=False)


def mark_quiet_publish(request: Any) -> None:
    """Remember for this request whether the editor chose not to notify learners."""
    quiet = request.method == "POST" and request.POST.get("action-publish") == QUIET_PUBLISH_VALUE
    _quiet.set(quiet)


def quiet_publish() -> bool:
    """Whether the publish happening now was marked "minor change: don't notify learners"."""
    return _quiet.get()


def _reset(**kwargs: Any) -> None:
    _quiet.set(False)


request_finished.connect(_reset, dispatch_uid="learning.publishing.reset_quiet")


@dataclass(frozen=True)
class LearnerImpact:
    """Learners a course or lesson carries."""

    kind: str  # "course" or "lesson"
    enrolled: int  # enrollments with access (active or completed)
    pending: int
    completed: int  # completed the course (course) or the lesson (lesson)
    progress_rows: int  # lesson progress records that go with a delete

    @property
    def any(self) -> bool:
        """Whether anyone would be affected."""
        return bool(self.enrolled or self.pending or self.progress_rows)


def learner_impact(page: Any) -> LearnerImpact | None:
    """The learners a course or lesson page carries (None for other pages). Two queries."""
    specific = page.specific_deferred
    if isinstance(specific, CoursePage):
        counts = Enrollment.objects.filter(course_id=page.pk).aggregate(
            enrolled=Count("pk", filter=access.access_status_filter()),
            pending=Count("pk", filter=Q(status=Enrollment.Status.PENDING_APPROVAL)),
            completed=Count("pk", filter=Q(status=Enrollment.Status.COMPLETED)),
        )
        rows = LessonProgress.objects.filter(course_id=page.pk).count()
        return LearnerImpact("course", counts["enrolled"], counts["pending"], counts["completed"], rows)
    if isinstance(specific, LessonPage):
        progress = LessonProgress.objects.filter(lesson_id=page.pk).aggregate(
            rows=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
        )
        course_path = page.path[: -page.steplen]
        enrolled = Enrollment.objects.filter(access.access_status_filter(), course__path=course_path).count()
        return LearnerImpact("lesson", enrolled, 0, progress["completed"], progress["rows"])
    return None


def _plural(count: int, word: str) -> str:
    return f"{count or 'no'} {word}{'' if count == 1 else 's'}"


def impact_warning(impact: LearnerImpact | None, action: str) -> str:
    """What ``action`` ("unpublish" or "delete") does to the learners, in words ("" for none)."""
    if impact is None or not impact.any:
        return ""
    if impact.kind == "course":
        who = f"This course has {_plural(impact.enrolled, 'enrolled learner')}"
        who += f" ({impact.completed} completed)" if impact.completed else ""
        who += f" and {_plural(impact.pending, 'pending request')}" if impact.pending else ""
        if action == "delete":
            return (
                f"{who}. Deleting it deletes their enrollments and {_plural(impact.progress_rows, 'lesson progress record')} "
                "for good: learners lose their progress and certificates of completion. Unpublish it instead to keep them."
            )
        return (
            f"{who}. While it is unpublished they cannot open its lessons and their dashboards offer no link to it; "
            "their enrollments and progress are kept and come back when you publish it again."
        )
    who = f"{_plural(impact.completed, 'learner')} completed this lesson; {_plural(impact.enrolled, 'learner')} can open its course"
    if action == "delete":
        return (
            f"{who}. Deleting it deletes {_plural(impact.progress_rows, 'progress record')} of this lesson for good; "
            "the course's progress is recomputed without it."
        )
    return (
        f"{who}. While it is unpublished, learners cannot open it and their course progress is counted without it "
        "(their records are kept and count again when you publish it)."
    )
