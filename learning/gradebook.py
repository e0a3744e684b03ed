"""The gradebook: graded lessons, learners' grades on them, staff overrides and the course grade.

The one home of grading. Lesson kinds report grades here, the staff grid and its exports, the
learner's "My grades" page, the certificates plugin and the API read them from here.

**Graded items.** A lesson kind declares itself graded with ``graded = True`` on its page class
(``courses.models.LessonPage.graded``; ``courses.lesson_kinds.graded_kinds``). A course's items
are its live lessons of graded kinds active there, in course order, each weighted by its
``grade_weight`` (0 shows the item but leaves it out of the course grade).

**Grades.** ``grade_record`` (called by the lesson kind, e.g. on every quiz submission) stores
the learner's score (percent) and when the work came in; it is **late** when that moment is
after the learner's due date for the lesson (``learning.schedule.lesson_dates`` from their
cohort's start or their enrollment). ``grade_override`` lets staff who ``may_grade`` the course
set (or clear) an override with a reason: written to Wagtail's audit log (``AUDIT_ACTIONS``)
and notified to the learner live (``Notification.Kind.GRADE_CHANGED``). The effective grade is
the override when set, else the score. Both send ``grade_changed`` after commit.

**The course grade** is the weighted mean of the effective grades of the items with weight > 0.
A missing grade (nothing submitted, no override) counts as **0 once it is due** for the learner
(their due date has passed) **or once they completed the course**; before that it is *pending*
and left out, so the course grade reads "so far" (``CourseGrade.pending``). Without any counted
item there is no course grade yet. It **passes** when the course has a ``pass_grade`` and the
exact weighted mean reaches it (no rounding lets anyone pass); shown to two decimals, rounded
down.

Queries: ``course_grade_of`` 3, ``learner_gradebook`` 3 whatever the number of courses,
``course_grid`` a fixed number whatever the number of learners (see its docstring).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils import timezone
from wagtail.log_actions import log

from courses.lesson_kinds import graded_kind_type_ids
from courses.models import CoursePage, LessonPage
from learning import access, events, schedule
from learning.cohorts import cohort_id_enrollment_filter
from learning.events import GradeChangedPayload
from learning.models import Enrollment, Grade, Notification
from learning.services import Forbidden, InvalidInput, NotEnrolled, NotFound, notification_create

#: Grades are percentages: 0 to 100, two decimals.
MIN_GRADE = Decimal("0")
MAX_GRADE = Decimal("100")
GRADE_STEP = Decimal("0.01")
#: The longest reason an override accepts.
REASON_MAX_LENGTH = 1000
#: Where a learner reads their grades.
MY_GRADES_PATH = "/dashboard/grades/"
#: Audit-log actions of staff on grades (registered in learning/wagtail_hooks.py).
AUDIT_ACTIONS = {
    "learning.grade.override": ("Override grade", "Overrode the grade"),
    "learning.grade.override_clear": ("Clear grade override", "Cleared the grade override"),
}


# --- Numbers -----------------------------------------------------------------------------------


def parse_grade(raw: Any) -> Decimal:
    """A grade from input (a number or text such as "85" or "85.5"), checked to be 0 to 100 with
    at most two decimals; raises ``InvalidInput`` (400) otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidInput("A grade is a number from 0 to 100.")
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput("A grade is a number from 0 to 100.") from None
    if not value.is_finite() or not MIN_GRADE <= value <= MAX_GRADE:
        raise InvalidInput("A grade is a number from 0 to 100.")
    if value != value.quantize(GRADE_STEP, rounding=ROUND_DOWN):
        raise InvalidInput("A grade has at most two decimals.")
    return value.quantize(GRADE_STEP)


def format_percent(value: Decimal | int | None) -> str:
    """A percentage as people read it: "80%", "83.33%", "0%" (no trailing zeros); "-" for none."""
    if value is None:
        return "-"
    number = Decimal(value).quantize(GRADE_STEP, rounding=ROUND_DOWN)
    return f"{f'{number:f}'.rstrip('0').rstrip('.')}%"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


# --- Items and the course grade ----------------------------------------------------------------


def graded_items(course: CoursePage | int) -> list[LessonPage]:
    """The graded lessons of ``course`` in course order: live lessons of the graded kinds active
    there (weight 0 included: shown, not counted). One query (none without a graded kind)."""
    course_page = course if isinstance(course, CoursePage) else CoursePage.objects.filter(pk=course).first()
    if course_page is None:
        return []
    kinds = graded_kind_type_ids(course_page.pk)
    if not kinds:
        return []
    return list(
        LessonPage.objects.live()
        .filter(path__startswith=course_page.path, depth=course_page.depth + 1, content_type_id__in=sorted(kinds))
        .only("pk", "title", "path", "depth", "grade_weight", "release_rule", "release_days", "due_rule",
              "due_days", "due_at", "content_type_id", "url_path")
        .order_by("path")
    )


class CellState:
    """How an item counts for one learner."""

    GRADED = "graded"  # a score or an override: counts
    MISSING = "missing"  # nothing, but due (or the course is complete): counts as 0
    PENDING = "pending"  # nothing yet and not due: left out


@dataclass(frozen=True)
class GradeCell:
    """One learner's grade on one item."""

    lesson_id: int
    weight: int
    grade: Decimal | None
    score: Decimal | None = None
    late: bool = False
    overridden: bool = False
    override_reason: str = ""
    due_at: datetime | None = None
    submitted_at: datetime | None = None
    state: str = CellState.PENDING

    @property
    def label(self) -> str:
        """The grade as shown ("85%", "0% (missing)", "-")."""
        if self.state == CellState.MISSING:
            return "0% (missing)"
        return format_percent(self.grade)


@dataclass(frozen=True)
class CourseGrade:
    """A learner's course grade: ``percent`` (None while nothing counts), whether it passes the
    course's ``pass_grade`` (None without one or without a grade), and how many weighted items
    are still pending (so the grade is "so far")."""

    percent: Decimal | None
    pass_grade: int | None
    passed: bool | None
    pending: int = 0
    cells: list[GradeCell] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The course grade as shown ("72.5%", "-")."""
        return format_percent(self.percent)

    @property
    def result(self) -> str:
        """"passed", "not passed", or "" (no pass grade, or no grade yet)."""
        if self.passed is None:
            return ""
        return "passed" if self.passed else "not passed"


def compute_course_grade(
    items: Sequence[LessonPage],
    grades: Mapping[int, Any],
    *,
    due: Mapping[int, datetime | None],
    course_complete: bool,
    pass_grade: int | None,
    now: datetime,
    with_cells: bool = True,
) -> CourseGrade:
    """The cells and course grade of one learner (the rule in the module docstring). ``items``
    are lessons (or anything with ``pk`` and ``grade_weight``); ``grades`` maps lesson ids to
    their ``Grade`` rows (or objects with ``score``, ``override``, ``late``, ``override_reason``,
    ``submitted_at``); ``due`` maps lesson ids to the learner's due dates. ``with_cells`` False
    leaves the cells out (ranking thousands of learners). No query."""
    cells: list[GradeCell] = []
    weighted = Decimal(0)
    total_weight = 0
    pending = 0
    for item in items:
        lesson_id, weight = item.pk, item.grade_weight
        row = grades.get(lesson_id)
        due_at = due.get(lesson_id)
        effective = None if row is None else (row.override if row.override is not None else row.score)
        if effective is not None:
            state = CellState.GRADED
        elif course_complete or (due_at is not None and now > due_at):
            state = CellState.MISSING
        else:
            state = CellState.PENDING
        if with_cells:
            cells.append(GradeCell(
                lesson_id=lesson_id, weight=weight, grade=effective,
                score=None if row is None else row.score, late=bool(row is not None and row.late),
                overridden=bool(row is not None and row.override is not None),
                override_reason="" if row is None else row.override_reason, due_at=due_at,
                submitted_at=None if row is None else row.submitted_at, state=state,
            ))
        if weight <= 0:
            continue
        if state == CellState.PENDING:
            pending += 1
            continue
        total_weight += weight
        weighted += weight * (effective if effective is not None else Decimal(0))
    if total_weight == 0:
        return CourseGrade(percent=None, pass_grade=pass_grade, passed=None, pending=pending, cells=cells)
    percent = (weighted / Decimal(total_weight)).quantize(GRADE_STEP, rounding=ROUND_DOWN)
    passed = None if pass_grade is None else weighted >= Decimal(pass_grade) * total_weight
    return CourseGrade(percent=percent, pass_grade=pass_grade, passed=passed, pending=pending, cells=cells)


def due_dates(items: Sequence[LessonPage], *, cohort_starts_on: Any, enrolled_at: datetime | None) -> dict[int, datetime | None]:
    """Each item's due date for a learner (``learning.schedule``): None when it has none. No query."""
    if not schedule.has_dates(items):
        return {}
    dates = schedule.lesson_dates(items, cohort_starts_on=cohort_starts_on, enrolled_at=enrolled_at, completed_at={})
    return {lesson_id: lesson_dates.due_at for lesson_id, lesson_dates in dates.items()}


def _enrollment_due(items: Sequence[LessonPage], enrollment: Enrollment) -> dict[int, datetime | None]:
    cohort = enrollment.cohort if enrollment.cohort_id else None
    return due_dates(
        items, cohort_starts_on=cohort.starts_on if cohort else None, enrolled_at=schedule.enrolled_at(enrollment)
    )


def course_grade_of(*, user_id: int, course: CoursePage, now: datetime | None = None) -> CourseGrade:
    """One learner's course grade in ``course``. Three queries (the items, the enrollment with
    its cohort, the grades)."""
    now = now or timezone.now()
    items = graded_items(course)
    enrollment = Enrollment.objects.select_related("cohort").filter(user_id=user_id, course_id=course.pk).first()
    grades = {row.lesson_id: row for row in Grade.objects.filter(user_id=user_id, course_id=course.pk)}
    complete = enrollment is not None and enrollment.status == Enrollment.Status.COMPLETED
    due = _enrollment_due(items, enrollment) if enrollment is not None else {}
    return compute_course_grade(items, grades, due=due, course_complete=complete, pass_grade=course.pass_grade, now=now)


# --- Writes ------------------------------------------------------------------------------------


def _graded_lesson(lesson: LessonPage | int) -> tuple[LessonPage, CoursePage]:
    lesson_id = getattr(lesson, "pk", lesson)
    if not isinstance(lesson_id, int) or isinstance(lesson_id, bool):
        raise NotFound("This lesson does not exist.")
    page = LessonPage.objects.filter(pk=lesson_id).first()
    if page is None:
        raise NotFound("This lesson does not exist.")
    course = CoursePage.objects.filter(path=page.path[: -page.steplen]).first()
    if course is None:
        raise NotFound("This lesson is not in a course.")
    if page.content_type_id not in graded_kind_type_ids(course.pk):
        raise InvalidInput("This lesson is not graded.")
    return page, course


def _emit(grade: Grade, *, course: CoursePage) -> None:
    course_grade = course_grade_of(user_id=grade.user_id, course=course)
    events.grade_changed.emit(GradeChangedPayload(
        user_id=grade.user_id, course_id=course.pk, lesson_id=grade.lesson_id, grade=_text(grade.effective),
        late=grade.late, overridden=grade.override is not None, course_grade=_text(course_grade.percent),
        passed=course_grade.passed,
    ))


def _locked_grade(*, user_id: int, lesson: LessonPage, course: CoursePage) -> Grade:
    """The learner's grade row on ``lesson``, locked (created empty when missing; a concurrent
    insert that wins the race is read instead)."""
    found = Grade.objects.select_for_update().filter(user_id=user_id, lesson_id=lesson.pk).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Grade.objects.create(user_id=user_id, lesson_id=lesson.pk, course_id=course.pk)
    except IntegrityError:
        return Grade.objects.select_for_update().get(user_id=user_id, lesson_id=lesson.pk)


def grade_record(*, user: Any, lesson: LessonPage | int, score: Decimal | int | str, submitted_at: datetime | None = None) -> Grade:
    """Record ``user``'s score (percent, 0 to 100) on a graded lesson, submitted at
    ``submitted_at`` (now when None): what a graded lesson kind calls when work is graded.

    Replaces the score the lesson had (a kind that keeps the best attempt passes its best); an
    override stays in force. ``late`` is set when ``submitted_at`` is after the learner's due date.
    One transaction; ``grade_changed`` after commit. Raises ``InvalidInput`` (400: a score out of
    range, a lesson that is not graded), ``NotFound`` (404) and ``NotEnrolled`` (403: the learner
    is not enrolled in the lesson's course). Nothing is written when it raises.
    """
    if user is None or getattr(user, "pk", None) is None:
        raise InvalidInput("A grade needs a learner.")
    value = parse_grade(score)
    page, course = _graded_lesson(lesson)
    moment = submitted_at or timezone.now()
    with transaction.atomic():
        enrollment = Enrollment.objects.select_related("cohort").filter(user_id=user.pk, course_id=course.pk).first()
        if enrollment is None:
            raise NotEnrolled("The learner is not enrolled in this course.")
        due = _enrollment_due([page], enrollment).get(page.pk)
        grade = _locked_grade(user_id=user.pk, lesson=page, course=course)
        grade.score, grade.submitted_at = value, moment
        grade.late = due is not None and moment > due
        grade.save(update_fields=["score", "submitted_at", "late", "updated_at"])
        _emit(grade, course=course)
    return grade


def grade_override(
    *, user: Any, lesson: LessonPage | int, override: Decimal | int | str | None, reason: str, by: Any
) -> Grade:
    """Set (or, with ``override`` None, clear) staff's override of a learner's grade on a graded
    lesson, with a reason.

    Needs ``access.may_grade`` for the course and the learner among those ``by`` sees as staff
    (``access.staff_enrollment_filter``: per course or cohort). Audited in Wagtail's log (who,
    learner, lesson, before, after, reason); the learner gets a ``grade_changed`` notification,
    pushed live. One transaction; ``grade_changed`` after commit. Raises ``InvalidInput`` (400: no
    reason, a grade out of range), ``Forbidden`` (403) and ``NotFound`` (404: no such learner
    or lesson, or a learner not in ``by``'s scope). Nothing is written when it raises.
    """
    if by is None or not getattr(by, "is_authenticated", False):
        raise Forbidden("Log in to change grades.")
    value = None if override is None or (isinstance(override, str) and not override.strip()) else parse_grade(override)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput("Give the reason for the change (the learner reads it).")
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(f"The reason is at most {REASON_MAX_LENGTH} characters.")
    page, course = _graded_lesson(lesson)
    who = access.viewer(by)
    if not access.may_grade(who, course):
        raise Forbidden("You may not change grades in this course.")
    user_id = getattr(user, "pk", user)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise NotFound("This learner is not in the course.")
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_related("user")
            .filter(access.staff_enrollment_filter(who), user_id=user_id, course_id=course.pk)
            .first()
        )
        if enrollment is None:
            raise NotFound("This learner is not in the course.")
        grade = _locked_grade(user_id=user_id, lesson=page, course=course)
        previous = grade.effective
        grade.override, grade.override_reason = value, reason if value is not None else ""
        grade.overridden_by, grade.overridden_at = (by, timezone.now()) if value is not None else (None, None)
        grade.save(update_fields=["override", "override_reason", "overridden_by", "overridden_at", "updated_at"])
        action = "learning.grade.override" if value is not None else "learning.grade.override_clear"
        log(
            instance=grade, action=action, user=by,
            title=f"{enrollment.user.get_username()} on {page.title}"[:255],
            data={
                "grade_id": grade.pk, "learner_id": user_id, "lesson_id": page.pk, "course_id": course.pk,
                "from": _text(previous), "to": _text(grade.effective), "override": _text(value), "reason": reason,
            },
        )
        now_reads = format_percent(grade.effective) if grade.effective is not None else "no grade"
        notification_create(
            user=enrollment.user, kind=Notification.Kind.GRADE_CHANGED,
            title=f"Your grade on {page.title} is now {now_reads}"[:200],
            body=f"{course.title}: {reason}", link=MY_GRADES_PATH,
        )
        _emit(grade, course=course)
    return grade


# --- Reads: the learner's own grades -----------------------------------------------------------


@dataclass(frozen=True)
class LearnerCourseGrades:
    """One course on "My grades": its items, the learner's cells and course grade."""

    course: CoursePage
    items: list[LessonPage]
    grade: CourseGrade

    @property
    def rows(self) -> list[tuple[LessonPage, GradeCell]]:
        """Each item with the learner's cell."""
        return list(zip(self.items, self.grade.cells, strict=True))


def learner_gradebook(*, user: Any, now: datetime | None = None) -> list[LearnerCourseGrades]:
    """``user``'s grades in every course they may learn in (active or completed enrollments)
    that has graded items, by course title. Three queries whatever the number of courses: the
    enrollments with course and cohort, the graded lessons of those courses, the grades."""
    if not getattr(user, "is_authenticated", False):
        return []
    now = now or timezone.now()
    enrollments = list(
        Enrollment.objects.filter(access.access_status_filter(), user_id=user.pk)
        .select_related("course", "cohort")
        .order_by("course__title", "course_id")
    )
    if not enrollments:
        return []
    kinds_by_course = {e.course_id: graded_kind_type_ids(e.course_id) for e in enrollments}
    all_kinds = sorted(set().union(*kinds_by_course.values()))
    items_by_path: dict[str, list[LessonPage]] = defaultdict(list)
    if all_kinds:
        paths = Q()
        for enrollment in enrollments:
            paths |= Q(path__startswith=enrollment.course.path, depth=enrollment.course.depth + 1)
        for lesson in (
            LessonPage.objects.live().filter(paths, content_type_id__in=all_kinds)
            .only("pk", "title", "path", "depth", "grade_weight", "release_rule", "release_days", "due_rule",
                  "due_days", "due_at", "content_type_id", "url_path")
            .order_by("path")
        ):
            items_by_path[lesson.path[: -lesson.steplen]].append(lesson)
    grades: dict[int, dict[int, Grade]] = defaultdict(dict)
    for row in Grade.objects.filter(user_id=user.pk):
        grades[row.course_id][row.lesson_id] = row
    out = []
    for enrollment in enrollments:
        course = enrollment.course
        items = [item for item in items_by_path.get(course.path, []) if item.content_type_id in kinds_by_course[course.pk]]
        if not items:
            continue
        grade = compute_course_grade(
            items, grades.get(course.pk, {}), due=_enrollment_due(items, enrollment),
            course_complete=enrollment.status == Enrollment.Status.COMPLETED, pass_grade=course.pass_grade, now=now,
        )
        out.append(LearnerCourseGrades(course=course, items=items, grade=grade))
    return out


# --- Reads: the staff grid ---------------------------------------------------------------------

SORT_NAME = "name"
SORT_COURSE_GRADE = "grade"
#: An item column sorts as ``item-<lesson id>``.
SORT_ITEM_PREFIX = "item-"


@dataclass(frozen=True)
class GridRow:
    """One learner in the grid."""

    enrollment: Enrollment
    grade: CourseGrade

    @property
    def late_items(self) -> list[int]:
        """Lesson ids handed in late."""
        return [cell.lesson_id for cell in self.grade.cells if cell.late]

    @property
    def overridden_items(self) -> list[int]:
        """Lesson ids with an override."""
        return [cell.lesson_id for cell in self.grade.cells if cell.overridden]


def grid_enrollments(*, course: CoursePage, who: access.Viewer, cohort_id: int | None = None) -> QuerySet[Enrollment]:
    """The learners of the grid: enrollments that open ``course`` (active or completed) among
    those ``who`` sees as staff (``access.staff_enrollment_filter``), of one cohort when given."""
    rows = Enrollment.objects.filter(
        access.staff_enrollment_filter(who), access.access_status_filter(), course_id=course.pk
    )
    if cohort_id is not None:
        rows = rows.filter(cohort_id_enrollment_filter(cohort_id, course_id=course.pk))
    return rows


def _name_order(descending: bool) -> list[Any]:
    fields = [Lower("user__last_name"), Lower("user__first_name"), Lower("user__username"), F("pk")]
    return [f.desc() if descending else f.asc() for f in fields]


def parse_sort(raw: str | None, items: Sequence[LessonPage]) -> tuple[str, bool]:
    """``(key, descending)`` from a ``sort`` parameter ("name", "-grade", "item-12"); an unknown
    key (or a lesson that is not an item) falls back to the name."""
    raw = (raw or "").strip()
    descending = raw.startswith("-")
    key = raw.removeprefix("-")
    if key == SORT_COURSE_GRADE:
        return key, descending
    number = key[len(SORT_ITEM_PREFIX):]
    if key.startswith(SORT_ITEM_PREFIX) and number.isascii() and number.isdigit() and int(number) in {
        item.pk for item in items
    }:
        return key, descending
    return SORT_NAME, descending if key == SORT_NAME else False


def _grades_of(course: CoursePage, user_ids: Iterable[int] | None) -> dict[int, dict[int, Grade]]:
    rows = Grade.objects.filter(course_id=course.pk).only(
        "user_id", "lesson_id", "score", "override", "override_reason", "late", "submitted_at"
    )
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    grades: dict[int, dict[int, Grade]] = defaultdict(dict)
    for row in rows:
        grades[row.user_id][row.lesson_id] = row
    return grades


def grid_rows(
    enrollments: Sequence[Enrollment], *, course: CoursePage, items: Sequence[LessonPage],
    grades: Mapping[int, Mapping[int, Any]], now: datetime,
) -> list[GridRow]:
    """Grid rows of ``enrollments`` (with their cohort loaded). No query."""
    return [
        GridRow(enrollment=enrollment, grade=compute_course_grade(
            items, grades.get(enrollment.user_id, {}), due=_enrollment_due(items, enrollment),
            course_complete=enrollment.status == Enrollment.Status.COMPLETED, pass_grade=course.pass_grade, now=now,
        ))
        for enrollment in enrollments
    ]


def rows_of_page(
    enrollments: Sequence[Enrollment], *, course: CoursePage, items: Sequence[LessonPage], now: datetime | None = None,
) -> list[GridRow]:
    """Grid rows of a page of ``enrollments`` the caller chose (with their cohort loaded), e.g.
    the API's cursor pages of :func:`grid_enrollments`: one query (the page's grades), none for
    an empty page."""
    now = now or timezone.now()
    grades = _grades_of(course, [row.user_id for row in enrollments]) if enrollments else {}
    return grid_rows(enrollments, course=course, items=items, grades=grades, now=now)


class _LightGrade(NamedTuple):
    score: Decimal | None
    override: Decimal | None


class _Weighted(NamedTuple):
    pk: int
    grade_weight: int


def _by_course_grade_in_sql(
    enrollments: QuerySet[Enrollment], *, course: CoursePage, items: Sequence[LessonPage], descending: bool,
) -> QuerySet[Enrollment]:
    """``enrollments`` ordered by course grade in SQL (no grade last, then by name): the rule of
    :func:`compute_course_grade` when no item has a due date, so a missing grade counts as 0
    only once the learner completed the course. Ties in the exact mean keep the name order."""
    counted = [item for item in items if item.grade_weight > 0]
    if not counted:
        return enrollments.order_by(*_name_order(False))
    weight = Case(*[When(lesson_id=item.pk, then=Value(item.grade_weight)) for item in counted],
                  default=Value(0), output_field=IntegerField())
    graded = Grade.objects.filter(
        user_id=OuterRef("user_id"), course_id=course.pk, lesson_id__in=[item.pk for item in counted]
    ).filter(Q(score__isnull=False) | Q(override__isnull=False)).order_by().values("user_id")
    points = Subquery(graded.annotate(
        v=Sum(ExpressionWrapper(weight * Coalesce("override", "score"), output_field=FloatField()))
    ).values("v")[:1], output_field=FloatField())
    weights = Subquery(graded.annotate(v=Sum(weight)).values("v")[:1], output_field=IntegerField())
    total = sum(item.grade_weight for item in counted)
    denominator = Case(When(status=Enrollment.Status.COMPLETED, then=Value(total)), default=weights,
                       output_field=IntegerField())
    mean = ExpressionWrapper(Coalesce(points, Value(0.0)) / NullIf(denominator, Value(0)), output_field=FloatField())
    ranked = enrollments.annotate(course_mean=mean)
    order = F("course_mean").desc(nulls_last=True) if descending else F("course_mean").asc(nulls_last=True)
    return ranked.order_by(order, *_name_order(False))


def _ranked_by_course_grade(
    enrollments: QuerySet[Enrollment], *, course: CoursePage, items: Sequence[LessonPage], now: datetime,
    descending: bool,
) -> list[int]:
    """Enrollment ids of ``enrollments`` by course grade (those without one last, by name), from
    two light queries (the enrollments' and the course's grades as plain values, no model
    instances: at 10,000 learners building objects is most of the cost)."""
    rows = list(
        enrollments.order_by(*_name_order(False)).values_list(
            "pk", "user_id", "status", "cohort__starts_on", "activated_at", "requested_at"
        )
    )
    grades: dict[int, dict[int, _LightGrade]] = defaultdict(dict)
    for user_id, lesson_id, score, override in Grade.objects.filter(course_id=course.pk).values_list(
        "user_id", "lesson_id", "score", "override"
    ):
        grades[user_id][lesson_id] = _LightGrade(score=score, override=override)
    dated = schedule.has_dates(items)
    # Plain tuples: a page's ``pk`` property costs more than the arithmetic, 10,000 times over.
    weighted = [_Weighted(item.pk, item.grade_weight) for item in items]
    ranked: list[tuple[Decimal, int]] = []
    ungraded: list[int] = []
    for pk, user_id, status, starts_on, activated_at, requested_at in rows:
        due = due_dates(items, cohort_starts_on=starts_on, enrolled_at=activated_at or requested_at) if dated else {}
        percent = compute_course_grade(
            weighted, grades.get(user_id, {}), due=due, course_complete=status == Enrollment.Status.COMPLETED,
            pass_grade=course.pass_grade, now=now, with_cells=False,
        ).percent
        if percent is None:
            ungraded.append(pk)
        else:
            ranked.append((percent, pk))
    # A stable sort keeps the name order among equal grades.
    ranked.sort(key=lambda pair: pair[0], reverse=descending)
    return [pk for _percent, pk in ranked] + ungraded


@dataclass(frozen=True)
class Grid:
    """One page of the grid (or every row, for an export)."""

    items: list[LessonPage]
    rows: list[GridRow]
    count: int
    sort: str
    descending: bool


def course_grid(
    *, course: CoursePage, who: access.Viewer, cohort_id: int | None = None, sort: str | None = None,
    offset: int = 0, limit: int | None = None, now: datetime | None = None,
) -> Grid:
    """The staff grid of ``course``: learners x graded items, sorted by name, course grade or
    one item (``parse_sort``), rows ``offset`` to ``offset + limit`` (every row when ``limit`` is
    None, for exports).

    Queries, whatever the number of learners: by name or item, 4 (the items, the count, the page
    of enrollments with user and cohort, sorted in SQL (an item by its effective grade), the
    page's grades); by course grade the same 4, ranked in SQL, when no item has a due date; with
    due dates, 5 (the items, every enrollment and every grade of the course as plain values,
    ranked in Python since the course grade then depends on each learner's due dates, then the
    page's enrollments with user and cohort and the page's grades). Plus the
    staff rule's page-permission lookup for non-superusers.
    """
    now = now or timezone.now()
    items = graded_items(course)
    key, descending = parse_sort(sort, items)
    base = grid_enrollments(course=course, who=who, cohort_id=cohort_id).select_related("user", "cohort")
    if key == SORT_COURSE_GRADE and not schedule.has_dates(items):
        ordered_qs = _by_course_grade_in_sql(base, course=course, items=items, descending=descending)
    elif key == SORT_COURSE_GRADE:
        ranked = _ranked_by_course_grade(base, course=course, items=items, now=now, descending=descending)
        end = None if limit is None else offset + limit
        page_ids = ranked[offset:end]
        by_pk = {row.pk: row for row in base.filter(pk__in=page_ids)} if page_ids else {}
        page = [by_pk[pk] for pk in page_ids if pk in by_pk]
        grades = _grades_of(course, [row.user_id for row in page]) if page else {}
        rows = grid_rows(page, course=course, items=items, grades=grades, now=now)
        return Grid(items=items, rows=rows, count=len(ranked), sort=key, descending=descending)
    elif key.startswith(SORT_ITEM_PREFIX):
        lesson_id = int(key[len(SORT_ITEM_PREFIX):])
        effective = Grade.objects.filter(user_id=OuterRef("user_id"), lesson_id=lesson_id).values(
            value=Coalesce("override", "score")
        )[:1]
        value = Subquery(effective)
        ordered_qs = base.annotate(item_grade=value).order_by(
            value.desc(nulls_last=True) if descending else value.asc(nulls_last=True), *_name_order(False)
        )
    else:
        ordered_qs = base.order_by(*_name_order(descending))
    count = base.count()
    page = list(ordered_qs[offset:] if limit is None else ordered_qs[offset:offset + limit])
    grades = _grades_of(course, [row.user_id for row in page]) if page else {}
    rows = grid_rows(page, course=course, items=items, grades=grades, now=now)
    return Grid(items=items, rows=rows, count=count, sort=key, descending=descending)


__all__ = [
    "AUDIT_ACTIONS",
    "CellState",
    "CourseGrade",
    "GradeCell",
    "Grid",
    "GridRow",
    "LearnerCourseGrades",
    "compute_course_grade",
    "course_grade_of",
    "course_grid",
    "due_dates",
    "format_percent",
    "grade_override",
    "grade_record",
    "graded_items",
    "grid_enrollments",
    "learner_gradebook",
    "parse_grade",
    "parse_sort",
    "rows_of_page",
]
