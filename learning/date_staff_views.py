"""The "Due dates" course staff tool: per dated lesson, the learners it is due for and those
who are late (name, cohort, due date, days late), filtered by cohort.

Reached from the course's staff tabs (``learning.staff_links``, priority 55) at
``/admin/learning/courses/<id>/due-dates/``. Who may open it is the access policy's
``may_see_learners``; whose rows it shows is ``access.staff_enrollment_filter`` (the same scope
as the Learners list). The dates are ``learning.dates``' (computed per learner: cohort start or
enrollment, the lesson's rule). A fixed number of queries whatever the number of learners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from courses.models import CoursePage
from learning import access, dates
from learning.models import Cohort, Enrollment

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class DueRow:
    """One learner's due date for one lesson."""

    name: str
    cohort: str
    due_at: datetime
    days_late: int


@dataclass
class LessonDue:
    """One dated lesson: who still has it to do, who is late, how many completed it."""

    lesson_id: int
    title: str
    due: list[DueRow] = field(default_factory=list)
    overdue: list[DueRow] = field(default_factory=list)
    completed: int = 0


def course_due_report(
    *, who: access.Viewer, course: CoursePage, now: datetime, cohort_id: int | None = None
) -> list[LessonDue]:
    """Per lesson with a due date, in course order: the learners (active or completed
    enrollments, in ``who``'s staff scope, of ``cohort_id`` when given) who have not completed it,
    split into not yet due and overdue (most late first), and how many completed it. Two queries
    whatever the number of learners (their enrollments with cohorts and names, their
    completions), none when the course has no date rule (its rules are cached)."""
    rules = dates.course_rules(course_id=course.pk, course_path=course.path)
    enrollments = Enrollment.objects.filter(
        access.access_status_filter(), access.staff_enrollment_filter(who), course_id=course.pk
    )
    if cohort_id is not None:
        enrollments = enrollments.filter(cohort_id=cohort_id)
    learners = dates.course_learners_dates(
        course_id=course.pk, course_path=course.path,
        enrollments=enrollments.order_by("user__last_name", "user__first_name", "user__username", "pk"), rules=rules,
    )
    report: list[LessonDue] = []
    for rule in rules.lessons:
        entry = LessonDue(lesson_id=rule.pk, title=rule.title)
        for learner in learners:
            due_at = learner.of(rule.pk).due_at
            if due_at is None:
                continue
            if rule.pk in learner.completed_at:
                entry.completed += 1
                continue
            late = now > due_at
            row = DueRow(
                name=learner.name, cohort=learner.cohort_name, due_at=due_at,
                days_late=int((now - due_at).total_seconds() // SECONDS_PER_DAY) if late else 0,
            )
            (entry.overdue if late else entry.due).append(row)
        if entry.due or entry.overdue or entry.completed:
            entry.overdue.sort(key=lambda row: row.due_at)
            entry.due.sort(key=lambda row: row.due_at)
            report.append(entry)
    return report


def _cohort_id(raw: str | None, cohorts: list[Cohort]) -> int | None:
    """The ``?cohort=`` filter when it names one of the course's cohorts, else None (everyone)."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if any(cohort.pk == value for cohort in cohorts) else None


def due_dates(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course's due dates per lesson, for staff who may see its learners (403 otherwise)."""
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course.")
    who = access.viewer(request.user)
    if not access.may_see_learners(who, course):
        raise PermissionDenied("You may not see the learners of this course.")
    cohorts = list(Cohort.objects.filter(course_id=course.pk))
    cohort_id = _cohort_id(request.GET.get("cohort"), cohorts)
    report = course_due_report(who=who, course=course, now=timezone.now(), cohort_id=cohort_id)
    return render(request, "learning/admin/course_due_dates.html", {
        "course": course, "report": report, "cohorts": cohorts, "cohort_id": cohort_id,
    })


urlpatterns = [
    path("courses/<int:course_id>/due-dates/", due_dates, name="due_dates"),
]


def staff_link(course: Any, user: Any) -> list[Any]:
    """The "Due dates" tab for whoever may see the course's learners."""
    from django.urls import reverse

    from learning.staff_links import CourseStaffLink

    if not access.may_see_learners(access.viewer(user), course):
        return []
    return [CourseStaffLink("due_dates", "Due dates", reverse("learning_dates:due_dates", args=[course.pk]),
                            priority=55, icon="date", header=False)]


__all__ = ["DueRow", "LessonDue", "course_due_report", "due_dates", "staff_link", "urlpatterns"]
