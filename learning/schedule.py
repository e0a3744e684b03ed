"""Lesson dates: when a lesson opens to a learner (drip release) and when it is due.

The one place that turns a lesson's date rules (``courses.models.ReleaseRule`` / ``DueRule``,
set by editors on the lesson page) and a learner's start into dates. Every door that shows or
enforces a date (the access policy's "not yet open", the dashboard and course page, reminders,
the iCal feed, late marking in the gradebook, staff's overdue list) asks here.

A learner's **start** is their cohort's start date when it has one, else the moment their
enrollment was activated (or requested, while it waits for approval). Dates are computed, never
stored: changing a rule or a cohort's start moves every learner's dates at once.

The clock is injected: every function that needs "now" takes ``now`` (callers pass
``timezone.now()``; tests pass the moment they want), so no test sleeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from django.utils import timezone

from courses.models import DueRule, ReleaseRule


class DatedLesson(Protocol):
    """What the computation reads of a lesson (a ``LessonPage`` of any kind)."""

    pk: Any
    release_rule: str
    release_days: int
    due_rule: str
    due_days: int
    due_at: datetime | None


@dataclass(frozen=True)
class LessonDates:
    """One lesson's dates for one learner.

    ``opens_at`` is None when the lesson is open from the start; ``after_lesson_id`` names the
    lesson whose completion opens it (then ``opens_at`` is None until that completion, and the
    lesson is closed meanwhile). ``due_at`` is None when the lesson has no due date.
    """

    opens_at: datetime | None = None
    due_at: datetime | None = None
    after_lesson_id: int | None = None

    def is_open(self, now: datetime) -> bool:
        """Whether the lesson may be opened at ``now``."""
        if self.after_lesson_id is not None and self.opens_at is None:
            return False
        return self.opens_at is None or now >= self.opens_at

    def is_overdue(self, now: datetime, *, completed: bool) -> bool:
        """Whether the lesson is past due at ``now`` and not completed."""
        return not completed and self.due_at is not None and now > self.due_at


OPEN = LessonDates()


def start_of_day(day: date) -> datetime:
    """Midnight starting ``day`` in the site's time zone (cohort dates are days)."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def learner_start(*, cohort_starts_on: date | None, enrolled_at: datetime | None) -> datetime | None:
    """A learner's start: their cohort's start date, else their enrollment (None if neither)."""
    if cohort_starts_on is not None:
        return start_of_day(cohort_starts_on)
    return enrolled_at


def lesson_dates(
    lessons: Sequence[DatedLesson],
    *,
    cohort_starts_on: date | None,
    enrolled_at: datetime | None,
    completed_at: Mapping[int, datetime],
) -> dict[int, LessonDates]:
    """Each lesson's dates for one learner, by lesson id. ``lessons`` in course order (drip
    "after the previous lesson" reads the one before it); ``completed_at`` maps the learner's
    completed lessons to when. No query."""
    start = learner_start(cohort_starts_on=cohort_starts_on, enrolled_at=enrolled_at)
    cohort_start = start_of_day(cohort_starts_on) if cohort_starts_on is not None else None
    dates: dict[int, LessonDates] = {}
    previous: DatedLesson | None = None
    for lesson in lessons:
        opens_at: datetime | None = None
        after: int | None = None
        if lesson.release_rule == ReleaseRule.AFTER_START and start is not None:
            opens_at = start + timedelta(days=lesson.release_days)
        elif lesson.release_rule == ReleaseRule.AFTER_PREVIOUS and previous is not None:
            after = previous.pk
            done = completed_at.get(previous.pk)
            opens_at = done + timedelta(days=lesson.release_days) if done is not None else None
        due: datetime | None = None
        if lesson.due_rule == DueRule.FIXED:
            due = lesson.due_at
        elif lesson.due_rule == DueRule.AFTER_COHORT_START:
            base = cohort_start or enrolled_at
            due = base + timedelta(days=lesson.due_days) if base is not None else None
        elif lesson.due_rule == DueRule.AFTER_ENROLLMENT and enrolled_at is not None:
            due = enrolled_at + timedelta(days=lesson.due_days)
        dates[lesson.pk] = LessonDates(opens_at=opens_at, due_at=due, after_lesson_id=after) if (
            opens_at or due or after
        ) else OPEN
        previous = lesson
    return dates


def enrolled_at(enrollment: Any) -> datetime | None:
    """When an enrollment started, for the dates: its activation, else its request."""
    return getattr(enrollment, "activated_at", None) or getattr(enrollment, "requested_at", None)


def has_dates(lessons: Sequence[DatedLesson]) -> bool:
    """Whether any of ``lessons`` has a release or due rule (else every lesson is OPEN)."""
    return any(lesson.release_rule or lesson.due_rule for lesson in lessons)


__all__ = ["OPEN", "DatedLesson", "LessonDates", "enrolled_at", "has_dates", "learner_start", "lesson_dates", "start_of_day"]
