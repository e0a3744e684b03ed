"""Reads for lesson dates: a course's date rules and one or many learners' dates in it.

``learning.schedule`` computes (pure, no query); this module loads what it needs in a fixed
number of queries and hands it over. The access policy (``learning.access``: "not yet open"),
the learner's pages, the reminders, the calendar feed, the staff's due-date tool and the
gradebook's late marking all read dates through here, so every door gives the same answer.

Queries:

- :func:`course_rules`: none while the page tree is unchanged (kept with
  ``courses.routing.tree_cached``, moved on by every publish), one otherwise;
- :func:`learner_course_dates`: none when no lesson of the course has a rule; else one for the
  enrollment (with its cohort's start) and one for the learner's completions;
- :func:`course_learners_dates`: the same two queries for any number of enrollments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from courses.lesson_kinds import inactive_kind_type_ids, shown_kind_type_ids
from courses.models import LessonPage, ReleaseRule
from courses.routing import tree_cached
from learning import schedule
from learning.models import Enrollment, LessonProgress
from learning.schedule import OPEN, LessonDates


@dataclass(frozen=True)
class LessonRule:
    """One live lesson's date rule (what ``learning.schedule`` reads) and how to name it."""

    pk: int
    title: str
    path: str
    url_path: str
    release_rule: str
    release_days: int
    due_rule: str
    due_days: int
    due_at: datetime | None


@dataclass(frozen=True)
class CourseRules:
    """A course's live lessons in course order with their date rules."""

    lessons: tuple[LessonRule, ...] = ()

    @property
    def has_dates(self) -> bool:
        """Whether any lesson has a release or due rule (else every lesson is open, never due)."""
        return schedule.has_dates(self.lessons)

    @property
    def needs_completions(self) -> bool:
        """Whether a lesson opens after the previous one's completion (then completions count)."""
        return any(lesson.release_rule == ReleaseRule.AFTER_PREVIOUS for lesson in self.lessons)

    def by_id(self) -> dict[int, LessonRule]:
        """The lessons by id."""
        return {lesson.pk: lesson for lesson in self.lessons}

    def by_path(self) -> dict[str, LessonRule]:
        """The lessons by tree path."""
        return {lesson.path: lesson for lesson in self.lessons}


NO_RULES = CourseRules()


def _load_rules(course_path: str, shown: Sequence[int]) -> CourseRules:
    rows = (
        LessonPage.objects.live()
        .filter(path__startswith=course_path, depth=len(course_path) // LessonPage.steplen + 1,
                content_type_id__in=shown)
        .order_by("path")
        .values_list("pk", "title", "path", "url_path", "release_rule", "release_days", "due_rule", "due_days", "due_at")
    )
    return CourseRules(tuple(LessonRule(*row) for row in rows))


def course_rules(*, course_id: int, course_path: str) -> CourseRules:
    """The date rules of the live lessons (of the kinds shown there) of the course at
    ``course_path``, in course order. Cached per tree generation: no query while cached."""
    inactive = ",".join(str(pk) for pk in inactive_kind_type_ids(course_id))
    shown = sorted(shown_kind_type_ids(course_id))
    return tree_cached(
        "date-rules", f"{course_id}:{course_path}:{inactive}", lambda: _load_rules(course_path, shown), CourseRules
    )


def _load_due_course_paths() -> frozenset[str]:
    paths = LessonPage.objects.live().exclude(due_rule="").values_list("path", flat=True)
    return frozenset(path[: -LessonPage.steplen] for path in paths)


def due_course_paths() -> frozenset[str]:
    """Tree paths of the courses with at least one live lesson that has a due date rule (the
    dashboard, the calendar feed and the reminders look no further when it is empty). Cached
    per tree generation: no query while cached, one otherwise."""
    return tree_cached("due-courses", "", _load_due_course_paths, frozenset)


@dataclass(frozen=True)
class LearnerDates:
    """One learner's dates in one course: per lesson id, and what they completed when."""

    enrollment_id: int | None
    user_id: int
    status: str | None
    cohort_id: int | None
    cohort_name: str
    cohort_starts_on: date | None
    name: str = ""
    dates: dict[int, LessonDates] = field(default_factory=dict)
    completed_at: dict[int, datetime] = field(default_factory=dict)

    def of(self, lesson_id: int) -> LessonDates:
        """The dates of one lesson (OPEN when it has none)."""
        return self.dates.get(lesson_id, OPEN)


_ENROLLMENT_VALUES = (
    "id", "user_id", "status", "activated_at", "requested_at", "cohort_id", "cohort__name", "cohort__starts_on",
)


def _learner_dates(row: dict[str, Any], rules: CourseRules, completed: dict[int, datetime]) -> LearnerDates:
    return LearnerDates(
        enrollment_id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        cohort_id=row["cohort_id"],
        cohort_name=row["cohort__name"] or "",
        cohort_starts_on=row["cohort__starts_on"],
        name=learner_name(row),
        dates=schedule.lesson_dates(
            rules.lessons,
            cohort_starts_on=row["cohort__starts_on"],
            enrolled_at=row["activated_at"] or row["requested_at"],
            completed_at=completed,
        ),
        completed_at=completed,
    )


def learner_course_dates(
    *, user_id: int, course_id: int, course_path: str, rules: CourseRules | None = None
) -> LearnerDates | None:
    """The dates of ``user_id`` in a course, or None when the course has no date rules or the
    user has no enrollment there. No query when no lesson has a rule (the rules cached), else two
    (the enrollment with its cohort, the completions)."""
    rules = rules if rules is not None else course_rules(course_id=course_id, course_path=course_path)
    if not rules.has_dates:
        return None
    row = Enrollment.objects.filter(user_id=user_id, course_id=course_id).values(*_ENROLLMENT_VALUES).first()
    if row is None:
        return None
    completed = dict(
        LessonProgress.objects.filter(user_id=user_id, course_id=course_id, completed_at__isnull=False)
        .values_list("lesson_id", "completed_at")
    )
    return _learner_dates(row, rules, completed)


def course_learners_dates(
    *, course_id: int, course_path: str, enrollments: Any, rules: CourseRules | None = None
) -> list[LearnerDates]:
    """The dates of every learner of ``enrollments`` (a queryset of the course's enrollments,
    already filtered by the caller: statuses, staff scope, cohort), in its order. Two queries
    whatever their number (none when the course has no date rules)."""
    rules = rules if rules is not None else course_rules(course_id=course_id, course_path=course_path)
    if not rules.has_dates:
        return []
    rows = list(enrollments.values(*_ENROLLMENT_VALUES, "user__username", "user__first_name", "user__last_name"))
    completed: dict[int, dict[int, datetime]] = defaultdict(dict)
    if rows:
        done = LessonProgress.objects.filter(
            course_id=course_id, completed_at__isnull=False, user_id__in=[row["user_id"] for row in rows]
        ).values_list("user_id", "lesson_id", "completed_at")
        for user_id, lesson_id, completed_at in done:
            completed[user_id][lesson_id] = completed_at
    return [_learner_dates(row, rules, completed.get(row["user_id"], {})) for row in rows]


def learner_name(row: dict[str, Any]) -> str:
    """A learner's display name from enrollment values (full name, else username)."""
    full = f"{row.get('user__first_name') or ''} {row.get('user__last_name') or ''}".strip()
    return full or row.get("user__username") or ""


def lesson_ids_open(learner: LearnerDates, lesson_ids: Iterable[int], *, now: datetime) -> set[int]:
    """Which of ``lesson_ids`` are open to ``learner`` at ``now``."""
    return {pk for pk in lesson_ids if learner.of(pk).is_open(now)}


__all__ = [
    "NO_RULES",
    "CourseRules",
    "LearnerDates",
    "LessonRule",
    "course_learners_dates",
    "course_rules",
    "due_course_paths",
    "learner_course_dates",
    "learner_name",
    "lesson_ids_open",
]
