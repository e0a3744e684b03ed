"""Reads of the learning core for pages, the dashboard, the admin and the realtime layer.

Every selector decides its joins here, in one place, and runs a fixed number of queries whatever
the number of enrollments, lessons or notifications:

- ``dashboard`` : one page of ``DASHBOARD_PAGE_SIZE`` enrollment cards in 5 queries (the
  enrollment count, the page's rows as values with course and next lesson joined, the resume
  candidates, the access rules of their pages, recent notifications with the unread count as a
  window aggregate) + Wagtail's site root paths (cached, 1 query cold); 2 without enrollments.
- ``course_state`` : 0 queries for anonymous visitors, 2 for an enrolled learner (the
  enrollment, the completed lesson ids; +2 when the course has a date rule: the lessons'
  dates); without access, Django's permission lookup for the
  staff check (2 queries for non-superusers, cached on the user and shared with Wagtail's
  user bar).
- ``lesson_state`` : 0 queries for anonymous visitors, 1 for an enrolled learner (+2 when the
  lesson has a release rule: "not yet open"; + the same permission lookup without access).

Per-learner progress of a course is cached on ``Enrollment`` (completed/total/percent, next and
resume lessons); the arithmetic is in ``learning.progress``. ``learning.services`` keeps it
current on every progress write and recomputes a whole course when its content is published.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page as PaginatorPage
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import OuterRef
from django.db.models.functions import Coalesce, Length, Substr
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.http import RFC3986_SUBDELIMS
from wagtail.models import Page, Site

from courses.lesson_kinds import of_active_kinds
from courses.models import CoursePage, LessonPage
from learning import access, date_selectors
from learning.models import Cohort, Enrollment, LessonProgress, Notification
from learning.progress import (
    CACHED_PROGRESS_FIELDS,
    CourseProgress,
    LessonLink,
    ProgressData,
    compute_progress,
    learner_course_progress,
    progress_data,
)

logger = logging.getLogger(__name__)

# How many notifications the dashboard lists (the unread count covers all of them).
DASHBOARD_NOTIFICATION_LIMIT = 10
# Enrollment cards per dashboard page (``?page=``).
DASHBOARD_PAGE_SIZE = 12
# The resume link is chosen among this many most recently active enrollments: a bound on what
# is read when the latest ones are closed to the learner by a view restriction.
DASHBOARD_RESUME_CANDIDATES = 5
# Columns a lesson or course link needs (title and URL); the rest (bodies) is never loaded.
_LINK_FIELDS = ("id", "title", "url_path", "path", "depth")


# --- URLs without per-page lookups -------------------------------------------------------------


def page_url(page: Page | None, request: HttpRequest | None = None) -> str:
    """A page's URL: relative on a single-site install, absolute otherwise ("" if not routable).

    Uses Wagtail's site root paths (cached, and memoised on ``request``) and never looks the
    current site up, so listing many pages costs no query per page.
    """
    if page is None:
        return ""
    parts = page.get_url_parts(request=request)
    if not parts or parts[2] is None:
        return ""
    _site_id, root_url, page_path = parts
    root_paths = page._get_site_root_paths(request)
    if len({root_path.site_id for root_path in root_paths}) == 1:
        return page_path
    return f"{root_url}{page_path}"


def lesson_link(lesson: Page | None, request: HttpRequest | None = None) -> LessonLink | None:
    """``{id, title, url}`` of a lesson, or None."""
    if lesson is None:
        return None
    return LessonLink(id=lesson.pk, title=lesson.title, url=page_url(lesson, request))


# --- Dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardEnrollment:
    """One enrollment card of the learner dashboard."""

    enrollment_id: int
    course_id: int
    course_title: str
    course_url: str
    status: str
    status_label: str
    has_access: bool  # may read the lessons now: an access status and the course visible
    available: bool  # the access policy lets the learner see the course (published, not restricted)
    progress: ProgressData  # links only where the learner may open them now
    last_activity_at: datetime | None


@dataclass(frozen=True)
class DashboardResume:
    """The dashboard's "pick up where you left off" link."""

    course_id: int
    course_title: str
    resume_lesson: LessonLink


@dataclass(frozen=True)
class Dashboard:
    """Everything the learner dashboard shows: one page of enrollment cards and the rest."""

    enrollments_page: PaginatorPage  # object_list: the page's DashboardEnrollment cards
    notifications: list[Notification]
    unread_count: int
    resume: DashboardResume | None

    @property
    def enrollments(self) -> list[DashboardEnrollment]:
        """The cards of this page, newest enrollment first."""
        return list(self.enrollments_page.object_list)

    @property
    def enrollment_count(self) -> int:
        """How many enrollments the learner has in all (every page)."""
        return self.enrollments_page.paginator.count


# Columns of a page link (title, URL and the path the access rules need), read as values: the
# dashboard never instantiates a page (half of its time went there at 100 enrollments).
_LINK_VALUES = ("id", "title", "url_path", "path")
_CARD_VALUES = (
    "id", "status", "course_id", "completed_lessons", "total_lessons", "progress_percent", "next_lesson_id",
    "resume_lesson_id", "last_activity_at",
    *[f"{relation}__{name}" for relation in ("course", "next_lesson", "resume_lesson") for name in _LINK_VALUES],
)
_RESUME_VALUES = (
    "course_id", *[f"{relation}__{name}" for relation in ("course", "resume_lesson") for name in _LINK_VALUES],
)


def _site_root_paths(request: HttpRequest | None) -> list[Any]:
    """Wagtail's site root paths (from its cache), memoised on ``request`` where Wagtail keeps them."""
    if request is None:
        return Site.get_site_root_paths()
    try:
        return request._wagtail_cached_site_root_paths  # type: ignore[attr-defined, no-any-return]
    except AttributeError:
        request._wagtail_cached_site_root_paths = Site.get_site_root_paths()  # type: ignore[attr-defined]
        return request._wagtail_cached_site_root_paths  # type: ignore[attr-defined, no-any-return]


class PageUrls:
    """Page URLs from their ``url_path``, as :func:`page_url` gives them, with no page loaded.

    Reverses Wagtail's serve view once instead of once per page (a ``reverse`` per link cost
    more than the rest of a dashboard card): the page's path below its site root is quoted the
    way ``reverse`` quotes it and appended to the serve view's root. Paths that Wagtail's serve
    pattern would not match, and multilingual sites, take Wagtail's own per-page way.
    """

    _SERVE_PATH = re.compile(r"(?:[\w\-]+/)*")

    def __init__(self, request: HttpRequest | None = None) -> None:
        self.request = request
        self.root_paths = _site_root_paths(request)
        self.single_site = len({root_path.site_id for root_path in self.root_paths}) == 1
        self._serve_root: str | None = None

    def _serve(self, relative: str) -> str | None:
        if getattr(settings, "WAGTAIL_I18N_ENABLED", False) or not self._SERVE_PATH.fullmatch(relative):
            try:
                return reverse("wagtail_serve", args=(relative,))
            except NoReverseMatch:
                return None
        if self._serve_root is None:
            self._serve_root = reverse("wagtail_serve", args=("",))
        return self._serve_root + quote(relative, safe=RFC3986_SUBDELIMS + "/~:@")

    @cached_property
    def _current_site_id(self) -> int | None:
        site = Site.find_for_request(self.request) if self.request is not None else None
        return site.pk if site else None

    def url(self, url_path: str | None) -> str:
        """The URL of the page at ``url_path`` ("" when it is not routable)."""
        if not url_path:
            return ""
        relevant = [root for root in self.root_paths if url_path.startswith(root.root_path)]
        if not relevant:
            return ""
        chosen = relevant[0]
        if len({root.site_id for root in relevant}) > 1 and self.request is not None:
            chosen = next((root for root in relevant if root.site_id == self._current_site_id), chosen)
        if getattr(settings, "WAGTAIL_I18N_ENABLED", False):
            with translation.override(chosen.language_code):
                page_path = self._serve(url_path[len(chosen.root_path):])
        else:
            page_path = self._serve(url_path[len(chosen.root_path):])
        if page_path is None:
            return ""
        if not getattr(settings, "WAGTAIL_APPEND_SLASH", True) and page_path != "/":
            page_path = page_path.rstrip("/")
        return page_path if self.single_site else f"{chosen.root_url}{page_path}"


def learner_enrollments(*, user_id: int) -> QuerySet[Enrollment]:
    """A learner's enrollments, newest first (the dashboard's order)."""
    return Enrollment.objects.filter(user_id=user_id).order_by("-requested_at", "-pk")


def dashboard_page_number(raw: Any) -> int:
    """The enrollment page asked for by ``?page=``: 1 when missing, malformed or below 1.

    Numbers past the last page are clamped to it by the paginator.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not _PAGE_NUMBER.fullmatch(text):
        return 1
    return max(1, int(text))


_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


def _mark_gone_links(rows: list[Notification], root_paths: Iterable[Any]) -> None:
    """Set ``link_gone`` on each of ``rows``: whether its site link leads to a page that is no
    longer published (a lesson unpublished since). One query for the shown rows' links, none
    when none links into the site (it used to be a subquery per row on the unindexed url_path:
    the profile of the dashboard showed it as its slowest query)."""
    prefixes = sorted({root.root_path for root in root_paths})
    candidates: dict[Notification, list[str]] = {}
    for row in rows:
        row.link_gone = False  # type: ignore[attr-defined]
        if row.link.startswith("/") and not row.link.startswith("//"):
            candidates[row] = [prefix + row.link[1:] for prefix in prefixes]
    if not candidates:
        return
    wanted = {url_path for paths in candidates.values() for url_path in paths}
    gone = set(Page.objects.filter(url_path__in=wanted, live=False).values_list("url_path", flat=True))
    for row, paths in candidates.items():
        row.link_gone = any(path in gone for path in paths)  # type: ignore[attr-defined]


def recent_notifications(
    *, user_id: int, limit: int = DASHBOARD_NOTIFICATION_LIMIT, root_paths: Iterable[Any] | None = None,
) -> tuple[list[Notification], int]:
    """The learner's newest notifications and their total unread count: one query, and one
    more when a shown notification links into the site.

    The unread count is a window aggregate over all of the learner's notifications, computed
    before the LIMIT applies. ``link_gone`` says a notification's link leads to a page that was
    unpublished since (the dashboard shows it without the dead link); ``root_paths`` are
    Wagtail's site root paths (read from its cache when not given).
    """
    unread_total = Window(
        Sum(Case(When(read_at__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()))
    )
    rows = list(
        Notification.objects.filter(user_id=user_id).annotate(unread_total=unread_total).order_by("-pk")[:limit]
    )
    _mark_gone_links(rows, root_paths or Site.get_site_root_paths())
    return rows, (rows[0].unread_total or 0) if rows else 0


def unread_notification_count(*, user_id: int) -> int:
    """How many notifications the learner has not read. One indexed query."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def unread_count_cache_key(user_id: int) -> str:
    """Where :func:`cached_unread_notification_count` keeps a learner's count."""
    return f"learning:unread:{user_id}"


def cached_unread_notification_count(*, user_id: int) -> int:
    """The header badge's unread count, from the shared cache (no query) or counted (one).

    ``learning.services`` forgets it whenever a notification is created or marked read, so a
    page never shows a count older than the learner's last change; ``ACADEMY_CACHE_TIMEOUT``
    bounds what a count computed during a concurrent change can keep.
    """
    key = unread_count_cache_key(user_id)
    try:
        count = cache.get(key)
    except Exception:
        count = None
    if isinstance(count, int):
        return count
    count = unread_notification_count(user_id=user_id)
    try:
        cache.set(key, count, settings.ACADEMY_CACHE_TIMEOUT)
    except Exception:
        logger.warning("cannot store the unread count in the cache", exc_info=True)
    return count


def dashboard(
    *, user_id: int, request: HttpRequest | None = None, who: access.Viewer | None = None, page_number: int = 1,
) -> Dashboard:
    """The learner dashboard: one page of enrollment cards, notifications, where to resume.

    Cards come ``DASHBOARD_PAGE_SIZE`` to a page, newest enrollment first; ``page_number`` past
    the last page gives the last page. Only the page's rows are read, as values (no model is
    instantiated), with the course and next lesson joined. Lesson links appear only where the
    access policy lets the learner read the course now (an access status, the course and lesson
    published and not closed by a view restriction), so a course that became private lists no
    lesson titles. The resume link is the most recently active of the learner's active courses
    whose course and resume lesson they may read, among their ``DASHBOARD_RESUME_CANDIDATES``
    most recently active (unpublished ones are left out in SQL). ``who`` is the learner with
    their session (loaded from ``user_id`` when not given: one more query).

    Five queries whatever the number of enrollments (the count, the page's cards, the resume
    candidates, the access rules of their pages, the notifications with the unread count;
    plus the learner's groups when a group restriction applies, and Wagtail's cached site root
    paths); none for the cards when the learner has no enrollment.
    """
    if who is None:
        from django.contrib.auth import get_user_model

        who = access.viewer(get_user_model().objects.get(pk=user_id))
    mine = learner_enrollments(user_id=user_id)
    # Counted on the enrollment table alone; only the page's rows are joined and read.
    page = Paginator(mine, DASHBOARD_PAGE_SIZE).get_page(page_number)
    cards = list(page.object_list.values(*_CARD_VALUES))
    resumable = list(
        mine.filter(
            status=Enrollment.Status.ACTIVE, last_activity_at__isnull=False,
            course__live=True, resume_lesson__live=True,
        )
        .order_by("-last_activity_at", "-requested_at", "-pk")
        .values(*_RESUME_VALUES)[:DASHBOARD_RESUME_CANDIDATES]
    ) if cards else []
    paths = [
        row[f"{relation}__path"]
        for rows, relations in ((cards, ("course", "next_lesson", "resume_lesson")), (resumable, ("course", "resume_lesson")))
        for row in rows for relation in relations
    ]
    rules = access.page_rules([path for path in paths if path])
    urls = PageUrls(request)

    def visible(path: str | None) -> bool:
        return path is not None and rules.visibility(path, who).visible

    def link(row: dict[str, Any], relation: str) -> LessonLink:
        return LessonLink(
            id=row[f"{relation}__id"], title=row[f"{relation}__title"], url=urls.url(row[f"{relation}__url_path"]),
        )

    status_labels = dict(Enrollment.Status.choices)
    rows: list[DashboardEnrollment] = []
    for row in cards:
        available = visible(row["course__path"])
        has_access = row["status"] in Enrollment.ACCESS_STATUSES and available
        links = {
            row[f"{relation}__id"]: link(row, relation)
            for relation in ("next_lesson", "resume_lesson")
            if has_access and visible(row[f"{relation}__path"])
        }
        rows.append(
            DashboardEnrollment(
                enrollment_id=row["id"],
                course_id=row["course_id"],
                course_title=row["course__title"],
                course_url=urls.url(row["course__url_path"]) if available else "",
                status=row["status"],
                status_label=status_labels.get(row["status"], row["status"]),
                has_access=has_access,
                available=available,
                progress=progress_data(
                    CourseProgress.cached(row), course_id=row["course_id"], status=row["status"], link=links.get,
                ),
                last_activity_at=row["last_activity_at"],
            )
        )
    page.object_list = rows
    resume_row = next(
        (row for row in resumable if visible(row["course__path"]) and visible(row["resume_lesson__path"])), None
    )
    resume = DashboardResume(
        course_id=resume_row["course_id"], course_title=resume_row["course__title"],
        resume_lesson=link(resume_row, "resume_lesson"),
    ) if resume_row else None
    notifications, unread = recent_notifications(user_id=user_id, root_paths=urls.root_paths)
    return Dashboard(enrollments_page=page, notifications=notifications, unread_count=unread, resume=resume)


# --- Course and lesson pages -----------------------------------------------------------------


@dataclass(frozen=True)
class CourseState:
    """What the course page shows a visitor: enrollment, progress and the call to action."""

    enrollment: Enrollment | None
    status: str  # "anonymous", "not_enrolled", or an Enrollment.Status value
    has_access: bool
    privileged: bool  # staff or editor without access of their own (computed only then)
    following: bool
    progress: CourseProgress  # over the course's counted lessons (``learning.progress``)
    next_lesson: LessonPage | None
    resume_lesson: LessonPage | None
    # The dated lessons' dates for this learner (opens, due, overdue), by lesson id.
    when: dict[int, date_selectors.LessonWhen] = field(default_factory=dict)

    @property
    def completed_ids(self) -> frozenset[int]:
        """The counted lessons the learner completed (the course page's ticks)."""
        return self.progress.completed_ids

    @property
    def completed_lessons(self) -> int:
        """Delegates to ``progress``."""
        return self.progress.completed_lessons

    @property
    def total_lessons(self) -> int:
        """Delegates to ``progress``."""
        return self.progress.total_lessons

    @property
    def percent(self) -> int:
        """Delegates to ``progress``."""
        return self.progress.percent


def enrollment_for(*, user_id: int, course_id: int) -> Enrollment | None:
    """The learner's enrollment in a course, or None. One query."""
    return Enrollment.objects.filter(user_id=user_id, course_id=course_id).first()


def course_state(
    *, user: Any, course: CoursePage, lessons: Sequence[LessonPage], now: datetime | None = None
) -> CourseState:
    """The course page's enrollment button and progress panel for ``user``, and the lessons'
    dates for a learner with access at ``now`` (default: the current time; two more queries
    when the course has a date rule: ``date_selectors.course_page_dates``).

    ``lessons`` are the course's published lessons in order (the page already loaded them).
    Queries: none for anonymous visitors, one for a learner who is not enrolled, two otherwise,
    whatever the number of enrollments or lessons. Progress is computed live from the
    learner's progress rows, so it is exact even before the cache refresh runs.
    """
    nothing = compute_progress(lesson_ids=[lesson.pk for lesson in lessons], completed_ids=())
    if not getattr(user, "is_authenticated", False):
        return CourseState(None, "anonymous", False, False, False, nothing, None, None)
    enrollment = enrollment_for(user_id=user.pk, course_id=course.pk)
    status = enrollment.status if enrollment else "not_enrolled"
    has_access = bool(enrollment and enrollment.has_access)
    # Learners with access need no permission lookup (it costs queries for non-superusers).
    privileged = False if has_access else access.viewer(user).privileged_in(course.pk)
    following = has_access or privileged
    if enrollment is None:
        return CourseState(None, status, False, privileged, following, nothing, None, None)
    progress = learner_course_progress(user_id=user.pk, course_id=course.pk, lesson_ids=[lesson.pk for lesson in lessons])
    by_id = {lesson.pk: lesson for lesson in lessons}
    return CourseState(
        enrollment=enrollment,
        status=status,
        has_access=has_access,
        privileged=privileged,
        following=following,
        progress=progress,
        next_lesson=by_id.get(progress.next_lesson_id) if progress.next_lesson_id else None,
        resume_lesson=by_id.get(progress.resume_lesson_id) if progress.resume_lesson_id else None,
        when=date_selectors.course_page_dates(
            user_id=user.pk, course_id=course.pk, course_path=course.path, now=now or timezone.now(),
        ) if has_access else {},
    )


@dataclass(frozen=True)
class LessonState:
    """What the lesson page shows a visitor: the body or a call to enroll, and completion."""

    enrollment: Enrollment | None
    status: str  # "anonymous", "not_enrolled", or an Enrollment.Status value
    has_access: bool
    privileged: bool
    can_read: bool
    following: bool
    completed: bool
    completed_at: datetime | None
    # Set while the lesson is not yet open to this enrolled learner (drip release).
    not_open: access.NotOpen | None = None


def lesson_state(*, user: Any, lesson: LessonPage, course: CoursePage, now: datetime | None = None) -> LessonState:
    """The lesson page's state for ``user`` at ``now`` (default: the current time): one query
    (none for anonymous visitors), plus two when the lesson has a release rule (the access
    policy's "not yet open": ``access.lesson_not_open``)."""
    if not getattr(user, "is_authenticated", False):
        return LessonState(None, "anonymous", False, False, False, False, False, None)
    completed_at = LessonProgress.objects.filter(user_id=user.pk, lesson_id=lesson.pk).values("completed_at")[:1]
    enrollment = (
        Enrollment.objects.filter(user_id=user.pk, course_id=course.pk)
        .annotate(lesson_completed_at=Subquery(completed_at))
        .first()
    )
    has_access = bool(enrollment and enrollment.has_access)
    # Staff and editors read every course; a teacher or assistant, the courses of their roles.
    privileged = False if has_access else access.viewer(user).privileged_in(course.pk)
    lesson_completed_at = enrollment.lesson_completed_at if enrollment else None  # type: ignore[attr-defined]
    not_open = access.lesson_not_open(
        access.viewer(user), lesson_id=lesson.pk, course_id=course.pk, course_path=course.path, now=now,
    ) if has_access and lesson.live else None
    return LessonState(
        enrollment=enrollment,
        status=enrollment.status if enrollment else "not_enrolled",
        has_access=has_access,
        privileged=privileged,
        can_read=(has_access and not_open is None) or privileged,
        following=has_access or privileged,
        completed=has_access and lesson_completed_at is not None,
        completed_at=lesson_completed_at if has_access else None,
        not_open=not_open,
    )


# --- Lists that paginate at the database (the API) ---------------------------------------------


def visible_courses(*, who: access.Viewer, refused: Sequence[str] | None = None) -> QuerySet[CoursePage]:
    """The published courses ``who`` may see (``access.visible_pages_filter``), in catalog (tree)
    order, with their instructor joined and their tags prefetched. Bodies are not loaded.

    Evaluating a slice of it: one query for the rows and one for their tags; building it costs
    the access policy's restriction query unless ``refused`` is given.
    """
    return (
        CoursePage.objects.filter(access.visible_pages_filter(who, refused=refused))
        .select_related("instructor")
        .prefetch_related("tags")
        .defer("description")
        .order_by("path")
    )


def visible_lessons(
    *, who: access.Viewer, course_id: int | None = None, refused: Sequence[str] | None = None
) -> QuerySet[LessonPage]:
    """The published lessons ``who`` may see (rules 1 and 2 of the access policy on the lesson,
    its course and above) of the kinds shown there, in course order, each with ``course_id`` annotated. Bodies are not
    loaded. A slice of it is one query; building it costs the restriction query unless
    ``refused`` is given."""
    course_of = Page.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Page.steplen)
    ).values("pk")[:1]
    lessons = (
        LessonPage.objects.filter(access.visible_pages_filter(who, refused=refused))
        .annotate(course_id=Subquery(course_of))
        .defer("body")
        .order_by("path")
    )
    if course_id is not None:
        course_path = CoursePage.objects.filter(pk=course_id).values("path")[:1]
        lessons = lessons.filter(path__startswith=Subquery(course_path))
    # The lesson kinds shown there (the one rule of courses.lesson_kinds): in one course, those
    # active in it; across courses, those not switched off site-wide (a kind whose plugin is
    # excluded or refused is never shown).
    return of_active_kinds(lessons, course_id)


def enrollments_by_course(*, user_id: int, course_ids: Iterable[int]) -> dict[int, Enrollment]:
    """The learner's enrollments in ``course_ids``, by course id. One query (none for no ids)."""
    ids = list(course_ids)
    if not ids:
        return {}
    rows = Enrollment.objects.filter(user_id=user_id, course_id__in=ids).only(
        "id", "course_id", "status", *CACHED_PROGRESS_FIELDS,  # the whole cached progress: no deferred loads
    )
    return {row.course_id: row for row in rows}


def completed_lesson_ids(*, user_id: int, lesson_ids: Iterable[int]) -> set[int]:
    """Which of ``lesson_ids`` the learner completed. One query (none for no ids)."""
    ids = list(lesson_ids)
    if not ids:
        return set()
    return set(
        LessonProgress.objects.filter(user_id=user_id, lesson_id__in=ids, completed_at__isnull=False)
        .values_list("lesson_id", flat=True)
    )


def learner_notifications(*, user_id: int, unread_only: bool = False) -> QuerySet[Notification]:
    """The learner's notifications, newest first (a slice is one indexed query)."""
    rows = Notification.objects.filter(user_id=user_id)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-pk")


def learner_progress(*, user_id: int, course_id: int | None = None) -> QuerySet[LessonProgress]:
    """The learner's lesson progress rows, newest first (a slice is one indexed query)."""
    rows = LessonProgress.objects.filter(user_id=user_id)
    if course_id is not None:
        rows = rows.filter(course_id=course_id)
    return rows.order_by("-pk")


@dataclass(frozen=True)
class EnrollmentCard:
    """A learner's enrollment as the API shows it, with the links the access policy allows."""

    enrollment: Enrollment
    course_id: int
    course_title: str
    course_url: str
    status: str
    has_access: bool  # may read the lessons now: an access status and the course visible
    progress: ProgressData  # links only where the learner may open them now
    last_activity_at: datetime | None


def enrollments_with_links(*, user_id: int) -> QuerySet[Enrollment]:
    """A learner's enrollments with their course and lessons joined (no bodies), newest first."""
    link_fields = [f"{relation}__{name}" for relation in ("next_lesson", "resume_lesson") for name in _LINK_FIELDS]
    return (
        Enrollment.objects.filter(user_id=user_id)
        .select_related("course", "next_lesson", "resume_lesson")
        .only(
            "id", "user_id", "status", "requested_at", "activated_at", "completed_at", "cancelled_at",
            "last_activity_at", "completed_lessons", "total_lessons", "progress_percent",
            *[f"course__{name}" for name in _LINK_FIELDS], *link_fields,
        )
        .order_by("-requested_at", "-pk")
    )


def enrollment_cards(
    enrollments: Sequence[Enrollment], *, who: access.Viewer, request: HttpRequest | None = None
) -> list[EnrollmentCard]:
    """Enrollments (from :func:`enrollments_with_links`) with the links the policy allows, by the
    dashboard's rule: lesson links only where the learner may read the course now (an access
    status, course and lesson published and not closed by a view restriction), the course link
    only while they may see the course. One query (the pages' rules; plus the learner's groups
    when a group restriction applies) whatever the number of rows."""
    linked = [page for row in enrollments for page in (row.course, row.next_lesson, row.resume_lesson) if page]
    rules = access.page_rules([page.path for page in linked])

    def visible(page: Page | None) -> bool:
        return page is not None and rules.visibility(page.path, who).visible

    cards: list[EnrollmentCard] = []
    for enrollment in enrollments:
        course = enrollment.course
        available = visible(course)
        has_access = enrollment.has_access and available
        links = {
            lesson.pk: lesson_link(lesson, request)
            for lesson in (enrollment.next_lesson, enrollment.resume_lesson)
            if lesson is not None and has_access and visible(lesson)
        }
        cards.append(EnrollmentCard(
            enrollment=enrollment,
            course_id=course.pk,
            course_title=course.title,
            course_url=page_url(course, request) if available else "",
            status=enrollment.status,
            has_access=has_access,
            progress=progress_data(
                CourseProgress.cached(enrollment), course_id=course.pk, status=enrollment.status, link=links.get,
            ),
            last_activity_at=enrollment.last_activity_at,
        ))
    return cards


# --- Admin reports -----------------------------------------------------------------------------


def course_progress_report(*, course_id: int | None = None) -> QuerySet[Enrollment]:
    """Enrollments with learner and course joined, for the admin's per-course progress report.

    Most recently active first; ``cohort_label`` is the learner's cohort by name (the course's
    default one for those in none). One query however many rows (the admin paginates it).
    """
    rows = Enrollment.objects.select_related("user", "course").only(
        "id", "status", "requested_at", "last_activity_at", "completed_at",
        "completed_lessons", "total_lessons", "progress_percent",
        "cohort_id", "activated_at", "cancelled_at",  # the staff API's rows (learning.integrations)
        "user__id", "user__username", "user__email", "user__first_name", "user__last_name",
        *[f"course__{name}" for name in _LINK_FIELDS],
    )
    default_name = Cohort.objects.filter(course_id=OuterRef("course_id"), is_default=True).values("name")[:1]
    rows = rows.annotate(cohort_label=Coalesce("cohort__name", Subquery(default_name)))
    if course_id is not None:
        rows = rows.filter(course_id=course_id)
    return rows.order_by("course_id", "-last_activity_at", "-pk")


class AdminSummary(TypedDict):
    """Counts for the Wagtail admin dashboard panel."""

    active_learners: int
    active_enrollments: int
    pending_approvals: int


def admin_summary(*, visible: Q | None = None) -> AdminSummary:
    """Active learners (distinct), active enrollments and pending approvals, in the enrollments
    ``visible`` keeps (a filter from ``access.staff_course_filter``; all when None). One query."""
    status = Enrollment.Status
    counts = Enrollment.objects.filter(visible or Q()).aggregate(
        active_learners=Count("user_id", distinct=True, filter=Q(status=status.ACTIVE)),
        active_enrollments=Count("pk", filter=Q(status=status.ACTIVE)),
        pending_approvals=Count("pk", filter=Q(status=status.PENDING_APPROVAL)),
    )
    return AdminSummary(
        active_learners=counts["active_learners"],
        active_enrollments=counts["active_enrollments"],
        pending_approvals=counts["pending_approvals"],
    )


__all__ = [
    "CourseState",
    "Dashboard",
    "DashboardEnrollment",
    "EnrollmentCard",
    "LessonState",
    "admin_summary",
    "cached_unread_notification_count",
    "completed_lesson_ids",
    "course_progress_report",
    "course_state",
    "dashboard",
    "enrollment_cards",
    "enrollment_for",
    "enrollments_by_course",
    "enrollments_with_links",
    "learner_notifications",
    "learner_progress",
    "lesson_state",
    "recent_notifications",
    "unread_notification_count",
    "visible_courses",
    "visible_lessons",
]
