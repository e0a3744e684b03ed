"""Progress: the one home of "how far is a learner in a course", and of its shape on the wire.

- **Which lessons count**: :func:`course_lesson_ids`, the course's live lessons of the kinds
  active in it, in course order (``courses.selectors.course_lessons``: the same set the course
  page lists, the lesson navigation numbers and the staff's analytics and live class count).
- **The arithmetic**: :func:`compute_progress` over those ids and a learner's completed ones.
- **The shape**: :class:`ProgressData`, declared once: the API answers it, the domain events
  ``lesson_completed`` and ``learner_activity`` carry it and the live frames ``progress.updated``
  and ``class.activity`` push it; :func:`progress_data` builds it.
- **The cached copy** on ``Enrollment`` (``CACHED_PROGRESS_FIELDS``, :func:`apply_progress`,
  :meth:`CourseProgress.cached`): kept by the progress service on every write and recomputed
  course-wide (``learning.services.refresh_progress_cache``) whenever the set of lessons changes:
  publish, unpublish, delete, move, a lesson kind switched on or off for the course.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from wagtail.models import Page

from courses.selectors import course_lessons
from learning.models import Enrollment, LessonProgress


class LessonLink(TypedDict):
    """A lesson as the API, the live frames and the templates link it."""

    id: int
    title: str
    url: str


class ProgressData(TypedDict):
    """A learner's progress in one course: the one shape of the API, events and live frames.

    ``status`` is the enrollment's (``Enrollment.Status``), ``status_label`` its words;
    ``course_completed`` says the enrollment is completed. Links are null where there is no
    such lesson or the learner may not open it now.
    """

    course_id: int
    completed_lessons: int
    total_lessons: int
    percent: int
    status: str
    status_label: str
    course_completed: bool
    next_lesson: LessonLink | None
    resume_lesson: LessonLink | None


@dataclass(frozen=True)
class CourseProgress:
    """A learner's progress through the counted lessons of one course (:func:`course_lesson_ids`)."""

    completed_lessons: int
    total_lessons: int
    percent: int
    next_lesson_id: int | None
    resume_lesson_id: int | None
    completed_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_complete(self) -> bool:
        """Whether every counted lesson is complete (a course without lessons never is)."""
        return self.total_lessons > 0 and self.completed_lessons == self.total_lessons

    @classmethod
    def cached(cls, enrollment: Enrollment | dict[str, Any]) -> CourseProgress:
        """The copy cached on an enrollment (a model or a ``values()`` row of its columns)."""
        get = enrollment.get if isinstance(enrollment, dict) else lambda name: getattr(enrollment, name)
        return cls(
            completed_lessons=get("completed_lessons"), total_lessons=get("total_lessons"),
            percent=get("progress_percent"), next_lesson_id=get("next_lesson_id"),
            resume_lesson_id=get("resume_lesson_id"),
        )


def compute_progress(
    *, lesson_ids: Sequence[int], completed_ids: Iterable[int], last_touched_id: int | None = None
) -> CourseProgress:
    """Progress over ``lesson_ids`` (the counted lessons in course order).

    Completed lessons that no longer count (unpublished, moved, of a kind switched off) do not
    count. The percent is rounded down, so 100 means every lesson is done. The next lesson is
    the first unfinished one in course order; the resume lesson is the one the learner last
    touched if it is unfinished, else the next lesson.
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


def course_lesson_ids(*, course: Page) -> list[int]:
    """Ids of the lessons that count in a course, in course (tree) order. One query."""
    return list(course_lessons(course=course).values_list("pk", flat=True))


def learner_course_progress(*, user_id: int, course_id: int, lesson_ids: Sequence[int]) -> CourseProgress:
    """A learner's progress over ``lesson_ids`` (a course's counted lessons, in order), computed
    from their progress rows. One query."""
    rows = LessonProgress.objects.filter(user_id=user_id, course_id=course_id).order_by("-updated_at", "-pk")
    completed: list[int] = []
    last_touched: int | None = None
    for lesson_id, completed_at in rows.values_list("lesson_id", "completed_at"):
        last_touched = lesson_id if last_touched is None else last_touched
        if completed_at is not None:
            completed.append(lesson_id)
    return compute_progress(lesson_ids=lesson_ids, completed_ids=completed, last_touched_id=last_touched)


_STATUS_LABELS = dict(Enrollment.Status.choices)


def progress_data(
    progress: CourseProgress, *, course_id: int, status: str, link: Callable[[int], LessonLink | None],
) -> ProgressData:
    """``progress`` in its wire shape, for an enrollment of ``status``. ``link`` gives a lesson's
    link by id (None where the learner may not open it); it is asked only for the next and
    resume lessons."""
    return ProgressData(
        course_id=course_id,
        completed_lessons=progress.completed_lessons,
        total_lessons=progress.total_lessons,
        percent=progress.percent,
        status=status,
        status_label=str(_STATUS_LABELS.get(status, status)),
        course_completed=status == Enrollment.Status.COMPLETED,
        next_lesson=link(progress.next_lesson_id) if progress.next_lesson_id else None,
        resume_lesson=link(progress.resume_lesson_id) if progress.resume_lesson_id else None,
    )


def progress_fields(payload: ProgressData) -> ProgressData:
    """The :class:`ProgressData` part of a payload that extends it (an event's, to a frame)."""
    return ProgressData(**{key: payload[key] for key in ProgressData.__annotations__})  # type: ignore[typeddict-item]


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
