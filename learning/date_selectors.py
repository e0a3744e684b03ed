"""What learners see of lesson dates: the course page's opens/due column, the dashboard's
"Due soon / Overdue" list and the calendar feed's events.

The dates come from ``learning.schedule`` (computed) over ``learning.dates`` (loaded); which
courses and lessons a learner may see is the access policy's answer (``learning.access``). Every
function takes the moment ``now`` (callers pass ``timezone.now()``; tests pass what they need).

Queries: :func:`course_page_dates` none when the course has no date rule (its rules are cached
per tree generation), else two; :func:`learner_dated_lessons` none when no course has a due
date, else three whatever the number of courses (the learner's enrollments in dated courses
with their cohorts, those courses' lessons, the completions), plus the access rules of those
pages (cached per tree generation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from courses.lesson_kinds import shown_kind_type_ids
from courses.models import LessonPage
from learning import access, dates, schedule
from learning.models import Enrollment, LessonProgress

# The dashboard lists lessons due within this many days (and every overdue one).
DUE_SOON_DAYS = 7
# At most this many entries in each of the dashboard's lists (the soonest / the latest first).
DUE_LIST_LIMIT = 20


@dataclass(frozen=True)
class LessonWhen:
    """One lesson's dates for one learner, as a page shows them."""

    opens_at: datetime | None
    not_open: bool
    after_lesson_title: str
    due_at: datetime | None
    overdue: bool
    completed: bool


def course_page_dates(
    *, user_id: int, course_id: int, course_path: str, now: datetime
) -> dict[int, LessonWhen]:
    """Per lesson id of the course, its dates for the learner ``user_id`` at ``now`` (only the
    lessons with a date rule; empty when the course has none or the user is not enrolled).
    No query when the course has no date rule, else two (``dates.learner_course_dates``)."""
    rules = dates.course_rules(course_id=course_id, course_path=course_path)
    learner = dates.learner_course_dates(user_id=user_id, course_id=course_id, course_path=course_path, rules=rules)
    if learner is None:
        return {}
    titles = {rule.pk: rule.title for rule in rules.lessons}
    shown: dict[int, LessonWhen] = {}
    for rule in rules.lessons:
        when = learner.of(rule.pk)
        if when is schedule.OPEN:
            continue
        completed = rule.pk in learner.completed_at
        shown[rule.pk] = LessonWhen(
            opens_at=when.opens_at,
            not_open=not when.is_open(now),
            after_lesson_title=titles.get(when.after_lesson_id, "") if when.after_lesson_id else "",
            due_at=when.due_at,
            overdue=when.is_overdue(now, completed=completed),
            completed=completed,
        )
    return shown


@dataclass(frozen=True)
class DueItem:
    """A dated lesson of one of the learner's courses (the dashboard, the calendar feed)."""

    course_id: int
    course_title: str
    course_url_path: str
    lesson_id: int
    lesson_title: str
    lesson_url_path: str
    due_at: datetime
    opens_at: datetime | None
    completed: bool
    overdue: bool
    url: str = ""  # the lesson's URL, where the caller resolved it


@dataclass(frozen=True)
class DueLists:
    """The dashboard's lists: overdue lessons (most overdue first) and those due soon."""

    overdue: list[DueItem]
    due_soon: list[DueItem]

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_soon)


_RULE_FIELDS = ("pk", "title", "path", "url_path", "content_type_id", "release_rule", "release_days",
                "due_rule", "due_days", "due_at")


def learner_dated_lessons(*, user: Any, now: datetime) -> list[DueItem]:
    """Every due date of ``user``'s lessons in the courses they may read (an active or completed
    enrollment, the course and lesson visible to them), in due order. None when no course has a
    due date (``dates.due_course_paths``, cached); else three queries whatever the number of
    courses and lessons (the enrollments in dated courses, their lessons, the completions; one
    without such an enrollment), plus the pages' access rules (cached per tree generation)."""
    dated_courses = dates.due_course_paths()
    if not dated_courses:
        return []
    rows = list(
        Enrollment.objects.filter(
            access.access_status_filter(), user_id=user.pk, course__live=True, course__path__in=sorted(dated_courses)
        )
        .values("course_id", "course__title", "course__path", "course__url_path", "activated_at", "requested_at",
                "cohort__starts_on")
    )
    if not rows:
        return []
    by_path = {row["course__path"]: row for row in rows}
    in_courses = Q()
    for path in by_path:
        in_courses |= Q(path__startswith=path, depth=len(path) // LessonPage.steplen + 1)
    lessons = list(LessonPage.objects.live().filter(in_courses).order_by("path").values_list(*_RULE_FIELDS))
    per_course: dict[str, list[dates.LessonRule]] = defaultdict(list)
    kinds: dict[str, frozenset[int]] = {}
    for pk, title, path, url_path, type_id, *rule in lessons:
        course_path = path[: -LessonPage.steplen]
        if course_path not in kinds:
            kinds[course_path] = shown_kind_type_ids(by_path[course_path]["course_id"])
        if type_id in kinds[course_path]:
            per_course[course_path].append(dates.LessonRule(pk, title, path, url_path, *rule))
    dated = {path: items for path, items in per_course.items() if schedule.has_dates(items)}
    if not dated:
        return []
    completed: dict[int, datetime] = dict(
        LessonProgress.objects.filter(
            user_id=user.pk, completed_at__isnull=False, course_id__in=[by_path[path]["course_id"] for path in dated]
        ).values_list("lesson_id", "completed_at")
    )
    who = access.viewer(user)
    page_rules = access.page_rules([path for path in dated] + [item.path for items in dated.values() for item in items])
    items: list[DueItem] = []
    for course_path, lesson_rules in dated.items():
        if not page_rules.visibility(course_path, who).visible:
            continue
        row = by_path[course_path]
        course_dates = schedule.lesson_dates(
            lesson_rules, cohort_starts_on=row["cohort__starts_on"],
            enrolled_at=row["activated_at"] or row["requested_at"], completed_at=completed,
        )
        for rule in lesson_rules:
            when = course_dates.get(rule.pk, schedule.OPEN)
            if when.due_at is None or not page_rules.visibility(rule.path, who).visible:
                continue
            done = rule.pk in completed
            items.append(DueItem(
                course_id=row["course_id"], course_title=row["course__title"],
                course_url_path=row["course__url_path"], lesson_id=rule.pk, lesson_title=rule.title,
                lesson_url_path=rule.url_path, due_at=when.due_at, opens_at=when.opens_at,
                completed=done, overdue=when.is_overdue(now, completed=done),
            ))
    items.sort(key=lambda item: (item.due_at, item.course_title, item.lesson_id))
    return items


def learner_due_lists(
    *, user: Any, now: datetime, items: Sequence[DueItem] | None = None, url: Callable[[str], str] | None = None,
) -> DueLists:
    """The dashboard's "Overdue" (not completed, past due; most overdue first) and "Due soon"
    (not completed, due within ``DUE_SOON_DAYS``) lists, each at most ``DUE_LIST_LIMIT`` long,
    with each lesson's URL from ``url(url_path)`` when given (``selectors.PageUrls.url``). The
    queries of :func:`learner_dated_lessons` (unless ``items`` are given)."""
    items = learner_dated_lessons(user=user, now=now) if items is None else items
    if url is not None:
        items = [replace(item, url=url(item.lesson_url_path)) for item in items]
    soon = now + timedelta(days=DUE_SOON_DAYS)
    overdue = [item for item in items if item.overdue][:DUE_LIST_LIMIT]
    due_soon = [item for item in items if not item.completed and now <= item.due_at <= soon][:DUE_LIST_LIMIT]
    return DueLists(overdue=overdue, due_soon=due_soon)


__all__ = [
    "DUE_LIST_LIMIT",
    "DUE_SOON_DAYS",
    "DueItem",
    "DueLists",
    "LessonWhen",
    "course_page_dates",
    "learner_dated_lessons",
    "learner_due_lists",
]
