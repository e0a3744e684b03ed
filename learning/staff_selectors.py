"""Reads of the staff tools: a course's learners, one learner's timeline, per-lesson analytics.

Every selector runs a fixed number of queries whatever the number of enrollments or lessons
(counted exactly in ``tests/learning/test_staff_tools.py``). Which courses a user may read here
is decided by ``learning.access`` (``may_see_learners``); these functions only read.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from wagtail.models import ModelLogEntry

from courses.models import CoursePage, LessonPage
from courses.selectors import course_lessons as lesson_set
from learning import access
from learning.models import Enrollment, LessonProgress

# The longest search text the learner list accepts (a search box needs no more).
SEARCH_MAX_LENGTH = 100
# Learner list filters beyond the statuses: who has not started, who is stuck.
NOT_STARTED = "not_started"
STUCK = "stuck"
STUCK_DAYS_DEFAULT = 7
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class LessonColumn:
    """A lesson of the course as a column of the learner list (its number in course order)."""

    id: int
    number: int
    title: str
    live: bool
    path: str = ""


def course_lessons(*, course: CoursePage) -> list[LessonColumn]:
    """The course's lessons in course order, published or not. One query."""
    rows = LessonPage.objects.child_of(course).order_by("path").values_list("pk", "title", "live", "path")
    return [
        LessonColumn(id=pk, number=index, title=title, live=live, path=path)
        for index, (pk, title, live, path) in enumerate(rows, 1)
    ]


def counted_lessons(*, course: CoursePage) -> list[LessonColumn]:
    """The lessons that count in the course's progress (``courses.selectors.course_lessons``:
    live, of the kinds active in the course), in course order: the analytics and the live class
    count what learners see, never a draft. One query."""
    rows = lesson_set(course=course).values_list("pk", "title", "live", "path")
    return [
        LessonColumn(id=pk, number=index, title=title, live=live, path=path)
        for index, (pk, title, live, path) in enumerate(rows, 1)
    ]


def course_learners(
    *, course_id: int, search: str = "", status: str = "", stuck_days: int = STUCK_DAYS_DEFAULT, now: datetime | None = None,
    scope: Q | None = None,
) -> QuerySet[Enrollment]:
    """The enrollments of a course with their learner, most recently active first.

    ``search`` matches username, name or email; ``status`` is an ``Enrollment.Status`` value,
    ``not_started`` (access, no lesson completed) or ``stuck`` (access, not completed, no
    activity for ``stuck_days`` days); ``scope`` a filter on enrollments (``learning.cohorts.
    learner_scope``: the staff member's cohorts, a chosen cohort). Each row carries its
    ``cohort`` (joined). One query (the caller paginates).
    """
    rows = Enrollment.objects.filter(course_id=course_id).select_related("user", "resume_lesson", "cohort").only(
        "id", "user_id", "course_id", "status", "requested_at", "activated_at", "completed_at", "cancelled_at",
        "last_activity_at", "completed_lessons", "total_lessons", "progress_percent",
        "user__id", "user__username", "user__email", "user__first_name", "user__last_name",
        "resume_lesson__id", "resume_lesson__title", "cohort__id", "cohort__name", "cohort__is_default",
    )
    if scope is not None:
        rows = rows.filter(scope)
    search = search.replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]  # PostgreSQL refuses NUL
    if search:
        rows = rows.filter(
            Q(user__username__icontains=search) | Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search) | Q(user__last_name__icontains=search)
        )
    if status in Enrollment.Status.values:
        rows = rows.filter(status=status)
    elif status == NOT_STARTED:
        rows = rows.filter(access.access_status_filter(), completed_lessons=0)
    elif status == STUCK:
        since = (now or timezone.now()) - timedelta(days=stuck_days)
        rows = rows.filter(status=Enrollment.Status.ACTIVE).filter(
            Q(last_activity_at__lt=since) | Q(last_activity_at__isnull=True, activated_at__lt=since)
        )
    return rows.order_by("-last_activity_at", "-pk")


def completed_lessons_of(*, course_id: int, user_ids: list[int]) -> dict[int, set[int]]:
    """Lesson ids each of ``user_ids`` completed in a course (the list's ticks). One query."""
    done: dict[int, set[int]] = defaultdict(set)
    if not user_ids:
        return done
    rows = LessonProgress.objects.filter(
        course_id=course_id, user_id__in=user_ids, completed_at__isnull=False
    ).values_list("user_id", "lesson_id")
    for user_id, lesson_id in rows:
        done[user_id].add(lesson_id)
    return done


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a learner in a course."""

    at: datetime
    what: str
    detail: str = ""


def learner_timeline(*, enrollment: Enrollment) -> list[TimelineEntry]:
    """What happened, oldest first: enrollment, approvals and cancellations (with who decided,
    from Wagtail's audit log), lessons opened and completed, course completion. Two queries."""
    entries = [TimelineEntry(enrollment.requested_at, "Enrolled" if enrollment.activated_at == enrollment.requested_at else "Asked to join")]
    logged = ModelLogEntry.objects.filter(
        content_type__app_label="learning", content_type__model="enrollment", object_id=str(enrollment.pk)
    ).select_related("user").order_by("timestamp", "pk")
    decided = False
    for entry in logged:
        who = entry.user.get_full_name() or entry.user.get_username() if entry.user else "someone"
        label = entry.label or entry.action
        entries.append(TimelineEntry(entry.timestamp, _LOG_LABELS.get(entry.action, label), f"by {who}"))
        decided = True
    if enrollment.activated_at and not decided:
        entries.append(TimelineEntry(enrollment.activated_at, "Access granted"))
    progress = LessonProgress.objects.filter(user_id=enrollment.user_id, course_id=enrollment.course_id).select_related(
        "lesson"
    ).only("created_at", "completed_at", "lesson__title", "lesson__id")
    for row in progress:
        entries.append(TimelineEntry(row.created_at, "Opened a lesson", row.lesson.title))
        if row.completed_at:
            entries.append(TimelineEntry(row.completed_at, "Completed a lesson", row.lesson.title))
    if enrollment.completed_at:
        entries.append(TimelineEntry(enrollment.completed_at, "Completed the course"))
    if enrollment.cancelled_at and not decided:
        entries.append(TimelineEntry(enrollment.cancelled_at, "Left the course"))
    return sorted(entries, key=lambda entry: entry.at)


def enrolled_by_staff(enrollment: Enrollment) -> bool:
    """Whether staff enrolled the learner without their asking (manual or bulk enrollment of
    someone who had no pending request), as opposed to approving a request: the latest staff
    decision that gave access, from Wagtail's audit log. One query."""
    latest = ModelLogEntry.objects.filter(
        content_type__app_label="learning", content_type__model="enrollment", object_id=str(enrollment.pk),
        action__in=("learning.enrollment.add", "learning.enrollment.approve"),
    ).order_by("-timestamp", "-pk").values_list("action", "data").first()
    if latest is None:
        return False
    action, data = latest
    return action == "learning.enrollment.add" and (data or {}).get("from_status") != Enrollment.Status.PENDING_APPROVAL


_LOG_LABELS = {
    "learning.enrollment.approve": "Enrollment approved",
    "learning.enrollment.cancel": "Enrollment cancelled",
    "learning.enrollment.add": "Enrolled by staff",
    "learning.enrollment.move": "Moved to another cohort",
}


# --- Analytics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonFunnelRow:
    """How many learners reached (opened or completed) and completed one lesson, and how many
    stopped there (their furthest lesson, not completed, the course not completed)."""

    lesson: LessonColumn
    reached: int
    completed: int
    stopped_here: int


@dataclass(frozen=True)
class CourseAnalytics:
    """Per-course numbers for the analytics page and its export."""

    enrollments: int
    with_access: int
    completed: int
    funnel: list[LessonFunnelRow]
    enrollments_by_day: list[tuple[date, int]]
    completions_by_day: list[tuple[date, int]]
    median_days_to_complete: float | None
    by_status: dict[str, int] = field(default_factory=dict)


def _scoped(course: CoursePage, scope: Q | None) -> tuple[QuerySet[Enrollment], Q]:
    """The course's enrollments within ``scope`` and a filter on progress rows (by learner,
    a subquery: no extra query) keeping those learners' progress."""
    enrollments = Enrollment.objects.filter(course_id=course.pk)
    if scope is None:
        return enrollments, Q()
    enrollments = enrollments.filter(scope)
    return enrollments, Q(user_id__in=enrollments.values("user_id"))


def course_analytics(*, course: CoursePage, scope: Q | None = None) -> CourseAnalytics:
    """The course's funnel, enrollments and completions over time, median time to complete and
    where learners stop, over the learners ``scope`` keeps (a filter on enrollments: a cohort,
    the staff member's cohorts; all when None). Five queries whatever the number of enrollments:
    lessons, status counts, per-lesson progress counts, furthest lesson per learner, and the
    enrollments' request/completion times (only those columns)."""
    lessons = counted_lessons(course=course)
    counted = [lesson.id for lesson in lessons]
    enrollments, learners_progress = _scoped(course, scope)
    by_status = dict(enrollments.values_list("status").annotate(n=Count("pk")).order_by())
    counts = (
        LessonProgress.objects.filter(learners_progress, course_id=course.pk, lesson_id__in=counted)
        .values("lesson_id")
        .annotate(reached=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by()
    )
    per_lesson = {row["lesson_id"]: row for row in counts}
    # Furthest lesson (in course order: the highest tree path) each learner opened.
    furthest = (
        LessonProgress.objects.filter(learners_progress, course_id=course.pk, lesson_id__in=counted)
        .values("user_id")
        .annotate(last_path=Max("lesson__path"))
        .order_by()
        .values_list("user_id", "last_path")
    )
    times = enrollments.values_list(
        "user_id", "status", "requested_at", "activated_at", "completed_at"
    )
    finished = set()
    enrolled_days: Counter[date] = Counter()
    completed_days: Counter[date] = Counter()
    durations: list[float] = []
    for user_id, status, requested_at, activated_at, completed_at in times:
        enrolled_days[timezone.localtime(requested_at).date()] += 1
        if status == Enrollment.Status.COMPLETED:
            finished.add(user_id)
        if completed_at:
            completed_days[timezone.localtime(completed_at).date()] += 1
            durations.append((completed_at - (activated_at or requested_at)).total_seconds() / SECONDS_PER_DAY)
    path_of = {lesson.path: lesson.id for lesson in lessons}
    stopped: Counter[int | None] = Counter(
        path_of.get(last_path) for user_id, last_path in furthest if user_id not in finished
    )
    funnel = [
        LessonFunnelRow(
            lesson=lesson,
            reached=per_lesson.get(lesson.id, {}).get("reached", 0),
            completed=per_lesson.get(lesson.id, {}).get("completed", 0),
            stopped_here=stopped.get(lesson.id, 0),
        )
        for lesson in lessons
    ]
    return CourseAnalytics(
        enrollments=sum(by_status.values()),
        with_access=sum(n for status, n in by_status.items() if access.has_access_status(status)),
        completed=by_status.get(Enrollment.Status.COMPLETED, 0),
        funnel=funnel,
        enrollments_by_day=sorted(enrolled_days.items()),
        completions_by_day=sorted(completed_days.items()),
        median_days_to_complete=round(statistics.median(durations), 1) if durations else None,
        by_status=by_status,
    )


def learner_name(user: Any) -> str:
    """A learner as staff read them: "Full Name (username)" or the username."""
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


# --- Live class --------------------------------------------------------------------------------

# Learners active within this many minutes count as "in class now".
IN_CLASS_MINUTES = 15
# How many learners each live list shows (the rest are counted).
LIVE_LIST_LIMIT = 100
RECENT_COMPLETIONS = 20


@dataclass(frozen=True)
class LiveClass:
    """The live class view's first picture (then updated by class.activity frames)."""

    lessons: list[LessonColumn]
    in_class: list[Enrollment]  # active recently, with resume_lesson = where they are
    recent_completions: list[LessonProgress]
    stuck: list[Enrollment]  # on their current lesson for longer than the median
    median_lesson_minutes: float | None


def live_class(*, course: CoursePage, now: datetime | None = None, scope: Q | None = None) -> LiveClass:
    """Who is in which lesson now, the latest lesson completions, and who has been on one
    lesson longer than the course's median time per lesson, among the learners ``scope`` keeps
    (a filter on enrollments; all when None). Five queries."""
    now = now or timezone.now()
    lessons = counted_lessons(course=course)
    counted = [lesson.id for lesson in lessons]
    enrollments, learners_progress = _scoped(course, scope)
    durations = [
        # A lesson completed in the call that first recorded it has its completion a moment
        # before its row's creation: no time spent, never a negative one ("-0.0 minutes").
        max(0.0, (done - started).total_seconds() / 60)
        for started, done in LessonProgress.objects.filter(
            learners_progress, course_id=course.pk, lesson_id__in=counted, completed_at__isnull=False
        )
        .values_list("created_at", "completed_at")
    ]
    median = round(statistics.median(durations), 1) if durations else None
    in_class = list(
        enrollments.filter(
            access.access_status_filter(),
            last_activity_at__gte=now - timedelta(minutes=IN_CLASS_MINUTES),
        ).select_related("user", "resume_lesson").only(
            "id", "user_id", "status", "last_activity_at", "progress_percent", "resume_lesson_id",
            "user__username", "user__first_name", "user__last_name", "resume_lesson__title",
        ).order_by("-last_activity_at")[:LIVE_LIST_LIMIT]
    )
    recent = list(
        LessonProgress.objects.filter(learners_progress, course_id=course.pk, lesson_id__in=counted, completed_at__isnull=False)
        .select_related("user", "lesson").only(
            "id", "completed_at", "user__username", "user__first_name", "user__last_name", "lesson__title",
        ).order_by("-completed_at")[:RECENT_COMPLETIONS]
    )
    stuck: list[Enrollment] = []
    if median is not None:
        cutoff = now - timedelta(minutes=median)
        stuck = list(
            enrollments.filter(
                status=Enrollment.Status.ACTIVE,
                resume_lesson_id__in=counted,
                resume_lesson__progress__user_id=F("user_id"),
                resume_lesson__progress__completed_at__isnull=True,
                resume_lesson__progress__created_at__lt=cutoff,
            ).select_related("user", "resume_lesson").only(
                "id", "user_id", "last_activity_at", "resume_lesson_id",
                "user__username", "user__first_name", "user__last_name", "resume_lesson__title",
            ).order_by("last_activity_at")[:LIVE_LIST_LIMIT]
        )
    return LiveClass(lessons=lessons, in_class=in_class, recent_completions=recent, stuck=stuck, median_lesson_minutes=median)
