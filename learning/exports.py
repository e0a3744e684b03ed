"""The course progress export (the Learners screen's "Export CSV"): one row per learner with
their status and progress, a "completed at" column per live lesson, and the columns plugins add.

Plugins (and core apps) add columns with the Wagtail hook ``register_progress_export_columns``
(:data:`HOOK`): each function is called as ``fn(course=...)`` and returns :class:`ExportColumn`
objects; a column's ``values`` is called once with every exported learner's id and returns
``{user_id: value}`` (one query for the whole export, never one per learner).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from wagtail import hooks

from courses.models import CoursePage
from learning import staff_selectors
from learning.models import LessonProgress

#: The Wagtail hook that adds export columns: ``fn(*, course) -> Iterable[ExportColumn]``.
HOOK = "register_progress_export_columns"


@dataclass(frozen=True)
class ExportColumn:
    """One column of a course's progress export: ``header``, and ``values(user_ids)`` giving
    ``{user_id: value}`` for those learners (missing ones export as an empty cell)."""

    header: str
    values: Callable[[list[int]], dict[int, Any]]


def export_columns(course: CoursePage) -> list[ExportColumn]:
    """The columns every registered function adds for ``course``, in registration order."""
    columns: list[ExportColumn] = []
    for fn in hooks.get_hooks(HOOK):
        contributed: Iterable[ExportColumn] = fn(course=course) or ()
        columns.extend(contributed)
    return columns


def progress_rows(
    *, course: CoursePage, search: str = "", status: str = "", scope: Q | None = None
) -> Iterator[list[Any]]:
    """The export's header row, then one row per learner of the list's search and filter: name,
    email, status, percent, lessons completed, last activity, each live lesson's completion time
    (``staff_selectors.counted_lessons``) and the plugins' columns. Queries: the learners, the
    lessons, the completions, and each plugin column's own. ``scope`` limits the learners
    (``learning.cohorts.learner_scope``: a cohort, a teacher's cohorts)."""
    enrollments = list(staff_selectors.course_learners(course_id=course.pk, search=search, status=status, scope=scope))
    lessons = staff_selectors.counted_lessons(course=course)
    user_ids = [row.user_id for row in enrollments]
    done: dict[tuple[int, int], Any] = {
        (user_id, lesson_id): completed_at
        for user_id, lesson_id, completed_at in LessonProgress.objects.filter(
            course_id=course.pk, user_id__in=user_ids, lesson_id__in=[lesson.id for lesson in lessons],
            completed_at__isnull=False,
        ).values_list("user_id", "lesson_id", "completed_at")
    } if user_ids else {}
    columns = export_columns(course)
    extra = [column.values(user_ids) if user_ids else {} for column in columns]
    yield [
        "Learner", "Email", "Status", "Percent complete", "Lessons completed", "Last activity",
        *(f"{lesson.number}. {lesson.title}: completed at" for lesson in lessons),
        *(column.header for column in columns),
    ]
    for row in enrollments:
        yield [
            staff_selectors.learner_name(row.user), row.user.email, row.get_status_display(), row.progress_percent,
            row.completed_lessons, row.last_activity_at,
            *(done.get((row.user_id, lesson.id)) for lesson in lessons),
            *(values.get(row.user_id) for values in extra),
        ]


__all__ = ["HOOK", "ExportColumn", "export_columns", "progress_rows"]
