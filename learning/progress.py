"""Progress arithmetic: the one home of "how far is a learner in a course".

Pure functions over lesson ids (no query but ``published_lesson_ids``), used by the progress
service when it records a completion, by the course-wide refresh when content is published, and
by plugins. The cached copy lives on ``Enrollment`` (``CACHED_PROGRESS_FIELDS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wagtail.models import Page

from courses.lesson_kinds import of_active_kinds
from courses.models import LessonPage
from learning.models import Enrollment


@dataclass(frozen=True)
class CourseProgress:
    """A learner's progress through the published lessons of one course."""

    completed_lessons: int
    total_lessons: int
    percent: int
    next_lesson_id: int | None
    resume_lesson_id: int | None
    completed_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_complete(self) -> bool:
        """Whether every published lesson is complete (a course without lessons never is)."""
        return self.total_lessons > 0 and self.completed_lessons == self.total_lessons


def compute_progress(
    *, lesson_ids: Sequence[int], completed_ids: Iterable[int], last_touched_id: int | None = None
) -> CourseProgress:
    """Progress over ``lesson_ids`` (published lessons in course order).

    Completed lessons that are no longer published do not count. The percent is rounded down,
    so 100 means every lesson is done. The next lesson is the first unfinished one in course
    order; the resume lesson is the one the learner last touched if it is unfinished, else the
    next lesson.
    """
    done = frozenset(completed_ids) & frozenset(lesson_ids)
    total = len(lesson_ids)
    next_id = next((pk for pk in lesson_ids if pk not in done), None)
    if last_touched_id in lesson_ids and last_touched_id not in done:
        resume_id: int | None = last_touched_id
    else:
        resume_id = next_id
    percent = (len(done) * 100) // total if total else 0
    return CourseProgress(
        completed_lessons=len(done), total_lessons=total, percent=percent,
        next_lesson_id=next_id, resume_lesson_id=resume_id, completed_ids=done,
    )


def published_lesson_ids(*, course: Page) -> list[int]:
    """Ids of a course's published lessons in course (tree) order. One query."""
    lessons = of_active_kinds(LessonPage.objects.live().child_of(course), course.pk)
    return list(lessons.order_by("path").values_list("pk", flat=True))


CACHED_PROGRESS_FIELDS = ["completed_lessons", "total_lessons", "progress_percent", "next_lesson", "resume_lesson"]


def apply_progress(enrollment: Enrollment, progress: CourseProgress) -> bool:
    """Copy ``progress`` into the enrollment's cached fields (unsaved); return whether any changed."""
    values = {
        "completed_lessons": progress.completed_lessons,
        "total_lessons": progress.total_lessons,
        "progress_percent": progress.percent,
        "next_lesson_id": progress.next_lesson_id,
        "resume_lesson_id": progress.resume_lesson_id,
    }
    changed = any(getattr(enrollment, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(enrollment, name, value)
    return changed
