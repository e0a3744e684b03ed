"""The access policy: may this user see this course, read this lesson, download this file.

One place answers it, and every door asks here: the course and lesson pages (through Wagtail's
own view-restriction check, which this module mirrors exactly), the enroll and progress form
posts (via ``learning.services``), the dashboard, notifications, the WebSocket course stream and
its replay, catalog search, document downloads and the admin's enrollment list and CSV export.

The rules, in order:

1. **Published.** The page and every page above it (course, catalog, home) are live. Drafts are
   seen only in the admin's preview, never through a public door, by anyone.
2. **Wagtail view restrictions** on the page or any ancestor (``Page.get_view_restrictions``):
   *login* (any logged-in user), *groups* (members of a listed group; superusers pass, as in
   Wagtail), *password* (passed per session: the policy reads the session where the door has
   one; without a session, e.g. in a background task, a password restriction is not passed).
3. **Reading lessons** (bodies, documents, progress, the course stream) needs an enrollment whose
   status gives access (``Enrollment.ACCESS_STATUSES``) or staff/editor privilege (Wagtail admin
   access). Privilege never overrides rules 1 and 2, so a page Wagtail refuses stays refused.
   **Not yet open**: a lesson with a release rule (drip: N days after the learner's start, or
   after completing the previous lesson; ``learning.schedule``) is closed to an enrolled learner
   until then (``CourseAccess.not_open`` says when it opens); staff, editors and previews are
   not held back. Every door that gives a lesson's body, files, progress or quiz asks
   :func:`lesson_access` (or :func:`lesson_not_open`) with the moment ``now``.

4. **Staff see learners** of the courses Wagtail's page permissions let them edit (change or
   publish, granted on the course or above it), with a learning permission on enrollments (or,
   on a plugin's screen, the model permissions that plugin names, e.g. on its quiz results or
   certificates); superusers see every course's learners (``staff_course_paths``,
   ``may_see_learners``). The admin's lists, exports, analytics and the live class stream, and
   the plugins' staff screens, all ask here.
5. **Teachers and assistants** (``CourseRole``, per course or per cohort, on top of page
   permissions) see the learners of their course, or of their cohort only
   (``staff_enrollment_filter``, ``may_see_enrollment``); teachers also manage them
   (``may_manage_learners``, ``may_manage_enrollment``), assistants grade (``may_grade``). The
   admin access their role brings (the ``COURSE_STAFF_GROUP``) makes them privileged readers
   (rule 3) of their own courses only, never of every course.

Queries: visibility of any number of pages is one query (which of the pages and their ancestors
are live), plus one for the user's groups only when a group restriction applies to a
non-superuser. View restrictions come from one cached snapshot (``courses.restrictions``: no
query while cached, read once per request, purged when a restriction or its groups change). Page aliases are not followed (courses and lessons are never aliased).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Length, Substr
from django.utils import timezone
from wagtail.models import GroupPagePermission, Page, PageViewRestriction

from courses.restrictions import snapshot
from courses.routing import live_paths
from learning import dates
from learning.models import CourseRole, Enrollment

# Re-exported so callers need one import: the statuses that open a course's lessons.
ACCESS_STATUSES = Enrollment.ACCESS_STATUSES
# The permission that opens the Wagtail admin.
ADMIN_ACCESS_PERMISSION = "wagtailadmin.access_admin"
# The group that gives teachers and assistants (``CourseRole``) the admin, and nothing else.
COURSE_STAFF_GROUP = "Course staff"
# Wagtail stores the ids of page restrictions whose password a session passed under this key.
PASSED_RESTRICTIONS_SESSION_KEY = PageViewRestriction.passed_view_restrictions_session_key
# Wagtail's tree: every path segment has this many characters; the tree root is never served.
_STEPLEN = Page.steplen
_FIRST_SERVED_DEPTH = 2


class Visibility(enum.Enum):
    """Whether a page may be seen, or the first reason it may not."""

    VISIBLE = "visible"
    NOT_PUBLISHED = "not_published"  # the page or a container is a draft: 404 for everyone
    LOGIN_REQUIRED = "login_required"
    GROUP_REQUIRED = "group_required"
    PASSWORD_REQUIRED = "password_required"

    @property
    def visible(self) -> bool:
        """True only for VISIBLE."""
        return self is Visibility.VISIBLE


def has_access_status(status: str | None) -> bool:
    """Whether an enrollment status opens the course's lessons (active or completed)."""
    return status in ACCESS_STATUSES


def access_status_filter(prefix: str = "") -> Q:
    """A filter on enrollments (``prefix`` leads to them) keeping those whose status opens the
    course's lessons: the enrolled learners of lists, counts, messages and notifications."""
    return Q(**{f"{prefix}status__in": ACCESS_STATUSES})


def is_privileged(user: Any) -> bool:
    """Staff and editors (Wagtail admin users) read lessons without enrolling.

    Admin access that comes only from the course staff group (``COURSE_STAFF_GROUP``, given with
    a teacher or assistant role) does not count: a role holder reads the lessons of the courses
    they hold a role in (:meth:`Viewer.privileged_in`), never every course's.
    Django caches the permission lookup on the user, so Wagtail's user bar reuses it.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff:
        return True
    return bool(user.has_perm(ADMIN_ACCESS_PERMISSION)) and _admin_beyond_course_staff(user)


@dataclass
class Viewer:
    """Who is asking: the user (possibly anonymous) and, where the door has one, the session."""

    user: Any
    session: Mapping[str, Any] | None = None
    _group_ids: frozenset[int] | None = field(default=None, repr=False)
    _privileged: bool | None = field(default=None, repr=False)

    @property
    def authenticated(self) -> bool:
        """A logged-in, active user."""
        return bool(getattr(self.user, "is_authenticated", False) and self.user.is_active)

    @property
    def superuser(self) -> bool:
        """Superusers pass group restrictions (Wagtail's rule)."""
        return self.authenticated and bool(self.user.is_superuser)

    @property
    def privileged(self) -> bool:
        """Staff or editor (computed once)."""
        if self._privileged is None:
            self._privileged = is_privileged(self.user)
        return self._privileged

    def privileged_in(self, course_id: int) -> bool:
        """Staff or editor, or a teacher or assistant of course ``course_id`` (who read its
        lessons to teach them): the privilege of rule 3 for that one course."""
        return self.privileged or course_id in {grant.course_id for grant in course_roles(self)}

    def group_ids(self) -> frozenset[int]:
        """The user's group ids (one query, once; none for anonymous visitors)."""
        if self._group_ids is None:
            if not self.authenticated:
                self._group_ids = frozenset()
            else:
                self._group_ids = frozenset(group.pk for group in self.user.groups.all())
        return self._group_ids

    def passed_password_ids(self) -> frozenset[int]:
        """Page restrictions whose password this session entered."""
        if self.session is None:
            return frozenset()
        try:
            return frozenset(int(pk) for pk in self.session.get(PASSED_RESTRICTIONS_SESSION_KEY, []) or [])
        except (TypeError, ValueError):
            return frozenset()


def viewer(user: Any, session: Mapping[str, Any] | None = None) -> Viewer:
    """A Viewer for ``user`` with ``session`` (a request's or a WebSocket scope's)."""
    return Viewer(user=user, session=session)


def viewer_from_request(request: Any) -> Viewer:
    """The request's user and session."""
    return Viewer(user=request.user, session=getattr(request, "session", None))


# --- Visibility of pages --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Restriction:
    id: int
    kind: str
    group_ids: frozenset[int]


@dataclass(frozen=True)
class PageRules:
    """What governs a set of pages: which paths are live, which restrictions sit where."""

    live: Mapping[str, bool]
    restrictions: Mapping[str, tuple[_Restriction, ...]]

    def visibility(self, path: str, who: Viewer) -> Visibility:
        """The visibility of the page at ``path`` for ``who`` (no query unless groups matter)."""
        chain = _chain(path)
        if not all(self.live.get(prefix, False) for prefix in chain):
            return Visibility.NOT_PUBLISHED
        for prefix in chain:  # top-down, as a visitor meets them
            for restriction in self.restrictions.get(prefix, ()):
                refused = _refusal(restriction, who)
                if refused is not None:
                    return refused
        return Visibility.VISIBLE


def _chain(path: str) -> list[str]:
    """The paths of a page and its ancestors below the tree root, top-down."""
    return [path[:end] for end in range(_STEPLEN * _FIRST_SERVED_DEPTH, len(path) + 1, _STEPLEN)]


def _refusal(restriction: _Restriction, who: Viewer) -> Visibility | None:
    """Mirror of ``BaseViewRestriction.accept_request`` without needing a request."""
    if restriction.kind == PageViewRestriction.PASSWORD:
        return None if restriction.id in who.passed_password_ids() else Visibility.PASSWORD_REQUIRED
    if restriction.kind == PageViewRestriction.LOGIN:
        return None if who.authenticated else Visibility.LOGIN_REQUIRED
    if restriction.kind == PageViewRestriction.GROUPS:
        if not who.authenticated:
            return Visibility.LOGIN_REQUIRED
        if who.superuser or who.group_ids() & restriction.group_ids:
            return None
        return Visibility.GROUP_REQUIRED
    return None


def page_rules(paths: Iterable[str]) -> PageRules:
    """Liveness and restrictions of the pages at ``paths`` and their ancestors. Which pages are
    live comes from the cache of the page tree (``courses.routing.live_paths``: one query when
    it is cold), the restrictions from the cached snapshot (``courses.restrictions``)."""
    prefixes = sorted({prefix for path in paths if path for prefix in _chain(path)})
    if not prefixes:
        return PageRules(live={}, restrictions={})
    live = live_paths(prefixes)
    current = snapshot()
    restrictions = {
        path: tuple(_Restriction(item.id, item.kind, item.group_ids) for item in current.at(path))
        for path in prefixes
        if current.at(path)
    }
    return PageRules(live=live, restrictions=restrictions)


def page_visibility(who: Viewer, page: Page) -> Visibility:
    """The visibility of one page (and its containers) for ``who``."""
    return page_rules([page.path]).visibility(page.path, who)


# --- Courses and lessons --------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseAccess:
    """What ``who`` may do with one course (or one lesson of it)."""

    visibility: Visibility
    enrollment_status: str | None
    privileged: bool
    # Set when the lesson is not yet open to this enrolled learner (drip release).
    not_open: NotOpen | None = None

    @property
    def visible(self) -> bool:
        """May see the page (course description, lesson titles and summaries)."""
        return self.visibility.visible

    @property
    def enrolled(self) -> bool:
        """Has an enrollment whose status opens the lessons."""
        return has_access_status(self.enrollment_status)

    @property
    def can_read(self) -> bool:
        """May read lesson bodies and download their files (not before the lesson opens)."""
        return self.visible and ((self.enrolled and self.not_open is None) or self.privileged)

    @property
    def can_enroll(self) -> bool:
        """May join (or ask to join) the course."""
        return self.visible

    @property
    def can_record_progress(self) -> bool:
        """May record progress: reading rights through an enrollment (staff previews do not count)."""
        return self.visible and self.enrolled and self.not_open is None

    @property
    def opens_at(self) -> datetime | None:
        """When a not-yet-open lesson opens (None when open, or when it waits for a completion)."""
        return self.not_open.opens_at if self.not_open is not None else None


def _enrollment_status(who: Viewer, course_id: int) -> str | None:
    if not who.authenticated:
        return None
    return (
        Enrollment.objects.filter(user_id=who.user.pk, course_id=course_id)
        .values_list("status", flat=True)
        .first()
    )


# "Not looked up yet" for an enrollment status (None means "not enrolled").
UNKNOWN: Any = object()


def access_to(who: Viewer, *, page: Page, course_id: int, enrollment_status: Any = UNKNOWN) -> CourseAccess:
    """Access of ``who`` to ``page`` (a course, or a lesson of course ``course_id``).

    Queries: one for visibility (+ the user's groups when a group restriction applies), one for
    the enrollment unless ``enrollment_status`` is given, and Django's permission lookup only
    when neither refusal nor enrollment decides.
    """
    visibility = page_visibility(who, page)
    status = _enrollment_status(who, course_id) if enrollment_status is UNKNOWN else enrollment_status
    decided = not visibility.visible or has_access_status(status)
    return CourseAccess(
        visibility=visibility, enrollment_status=status, privileged=False if decided else who.privileged_in(course_id)
    )


def course_access(who: Viewer, course: Page, *, enrollment_status: Any = UNKNOWN) -> CourseAccess:
    """Access of ``who`` to a course page."""
    return access_to(who, page=course, course_id=course.pk, enrollment_status=enrollment_status)


def lesson_access(
    who: Viewer, lesson: Page, *, course_id: int | None = None, enrollment_status: Any = UNKNOWN,
    now: datetime | None = None,
) -> CourseAccess:
    """Access of ``who`` to a lesson page (its course is its parent; looked up unless given) at
    ``now`` (default: the current time): an enrolled learner cannot read a lesson that is not
    yet open (``not_open``, see :func:`lesson_not_open`). Queries: those of :func:`access_to`,
    plus those of :func:`lesson_not_open` for an enrolled learner (none when the lesson has no
    release rule)."""
    if course_id is None:
        course_id = Page.objects.filter(path=lesson.path[:-_STEPLEN]).values_list("pk", flat=True).first() or 0
    found = access_to(who, page=lesson, course_id=course_id, enrollment_status=enrollment_status)
    if not (found.visible and found.enrolled):
        return found
    closed = lesson_not_open(who, lesson_id=lesson.pk, course_id=course_id, course_path=lesson.path[:-_STEPLEN], now=now)
    if closed is None:
        return found
    return CourseAccess(visibility=found.visibility, enrollment_status=found.enrollment_status,
                        privileged=False, not_open=closed)


def readable_course_ids(who: Viewer, courses: Sequence[Page]) -> set[int]:
    """Which of ``courses`` ``who`` may read lessons of. Two queries (rules, enrollments)."""
    if not courses:
        return set()
    rules = page_rules([course.path for course in courses])
    visible = [course for course in courses if rules.visibility(course.path, who).visible]
    if not visible or not who.authenticated:
        return set()
    enrolled = set(
        Enrollment.objects.filter(
            access_status_filter(), user_id=who.user.pk, course_id__in=[course.pk for course in visible]
        ).values_list("course_id", flat=True)
    )
    if len(enrolled) < len(visible) and who.privileged:
        return {course.pk for course in visible}
    taught = {grant.course_id for grant in course_roles(who)} if len(enrolled) < len(visible) else set()
    return enrolled | {course.pk for course in visible if course.pk in taught}


def is_lesson_type(content_type_id: int) -> bool:
    """Whether pages of content type ``content_type_id`` are lessons: any lesson kind of the
    registry (``courses.lesson_kinds``: core's ``LessonPage`` and every plugin's subclass), never
    one content type. No query once Django's content type cache holds them."""
    from courses.lesson_kinds import lesson_kind_type_ids

    return content_type_id in lesson_kind_type_ids()


def may_read_any(
    who: Viewer, pages: Sequence[tuple[str, int]], *, drafts: bool = False, now: datetime | None = None
) -> bool:
    """Whether ``who`` may read the content of at least one of ``pages`` (``(path,
    content_type_id)`` pairs), e.g. a file used there: a page that is no lesson needs only to be
    seen (rules 1 and 2); a lesson of any kind needs reading rights in its course (rule 3). With
    ``drafts``, staff and editors also read drafts (what they preview). A lesson not yet open
    to the learner at ``now`` (drip release) does not count. Queries: one for the rules, one for
    the enrollments when a lesson decides, plus the user's groups or permissions where a rule
    needs them, and two per lesson with a release rule (:func:`lesson_not_open`)."""
    rules = page_rules([path for path, _type in pages])
    lessons: list[str] = []
    for path, type_id in pages:
        visibility = rules.visibility(path, who)
        seen = visibility.visible or (
            drafts and visibility is Visibility.NOT_PUBLISHED and who.privileged
        )
        if not seen:
            continue
        if not is_lesson_type(type_id):
            return True
        lessons.append(path)
    if not lessons:
        return False
    if who.privileged:
        return True
    if not who.authenticated:
        return False
    course_paths = {path[:-_STEPLEN] for path in lessons}
    if course_paths & {grant.course_path for grant in course_roles(who)}:
        return True
    enrolled = dict(
        Enrollment.objects.filter(access_status_filter(), user_id=who.user.pk, course__path__in=course_paths)
        .values_list("course__path", "course_id")
    )
    for path in lessons:
        course_path = path[:-_STEPLEN]
        course_id = enrolled.get(course_path)
        if course_id is None:
            continue
        # A lesson not yet open to the learner does not give its files away (drip release).
        rule = dates.course_rules(course_id=course_id, course_path=course_path).by_path().get(path)
        if rule is None or not rule.release_rule:
            return True
        if lesson_not_open(who, lesson_id=rule.pk, course_id=course_id, course_path=course_path, now=now) is None:
            return True
    return False


# --- Dates: "not yet open" ----------------------------------------------------------------------


@dataclass(frozen=True)
class NotOpen:
    """Why a lesson is not open yet to an enrolled learner: it opens at ``opens_at``, or (when
    that is None) once they complete the lesson ``after_lesson_id`` (titled ``after_lesson_title``)."""

    opens_at: datetime | None
    after_lesson_id: int | None = None
    after_lesson_title: str = ""

    @property
    def message(self) -> str:
        """The learner-facing sentence ("Opens on 4 December 2026 at 09:00.")."""
        if self.opens_at is not None:
            local = timezone.localtime(self.opens_at)
            return f"This lesson opens on {local:%d %B %Y} at {local:%H:%M}."
        if self.after_lesson_title:
            return f"This lesson opens after you complete \u201c{self.after_lesson_title}\u201d."
        return "This lesson is not open yet."


def lesson_not_open(
    who: Viewer, *, lesson_id: int, course_id: int, course_path: str, now: datetime | None = None,
    learner: dates.LearnerDates | None = None,
) -> NotOpen | None:
    """Whether ``lesson_id`` (of the course ``course_id`` at ``course_path``) is not yet open to
    ``who`` at ``now`` (default: the current time): None when it is open, when it has no release
    rule, when ``who`` has no enrollment there, and for staff and editors (they are never held
    back). Does not check enrollment status nor visibility (:func:`lesson_access` does).

    Queries: none when the lesson has no release rule (the course's rules are cached per tree
    generation); else two (the enrollment with its cohort's start, the completions; none when
    ``learner`` is given), plus Django's permission lookup when the lesson is closed.
    """
    if not who.authenticated:
        return None
    rules = dates.course_rules(course_id=course_id, course_path=course_path)
    rule = rules.by_id().get(lesson_id)
    if rule is None or not rule.release_rule:
        return None
    if learner is None:
        learner = dates.learner_course_dates(user_id=who.user.pk, course_id=course_id, course_path=course_path, rules=rules)
    if learner is None:
        return None
    when = learner.of(lesson_id)
    if when.is_open(now or timezone.now()) or who.privileged:
        return None
    after = rules.by_id().get(when.after_lesson_id) if when.after_lesson_id is not None else None
    return NotOpen(
        opens_at=when.opens_at, after_lesson_id=when.after_lesson_id, after_lesson_title=after.title if after else "",
    )


def closed_lesson_ids(
    who: Viewer, lessons: Sequence[Page], *, course_ids: Mapping[str, int], now: datetime | None = None
) -> set[int]:
    """Which of ``lessons`` (live lessons of courses ``who`` may read; ``course_ids`` maps their
    course paths to ids) are not open yet to ``who`` at ``now`` (:func:`lesson_not_open`), e.g.
    so catalog search leaves their bodies out. Queries: two per course with a release rule among
    them (its learner's dates are read once), none otherwise."""
    now = now or timezone.now()
    learners: dict[int, dates.LearnerDates | None] = {}
    closed: set[int] = set()
    for lesson in lessons:
        course_path = lesson.path[:-_STEPLEN]
        course_id = course_ids.get(course_path)
        if course_id is None or not who.authenticated:
            continue
        rules = dates.course_rules(course_id=course_id, course_path=course_path)
        rule = rules.by_id().get(lesson.pk)
        if rule is None or not rule.release_rule:
            continue
        if course_id not in learners:
            learners[course_id] = dates.learner_course_dates(
                user_id=who.user.pk, course_id=course_id, course_path=course_path, rules=rules
            )
        learner = learners[course_id]
        if learner is None:
            continue
        if lesson_not_open(who, lesson_id=lesson.pk, course_id=course_id, course_path=course_path, now=now,
                           learner=learner) is not None:
            closed.add(lesson.pk)
    return closed


# --- The admin ------------------------------------------------------------------------------------


def refused_paths(who: Viewer) -> tuple[str, ...]:
    """Paths of the pages whose view restriction ``who`` fails (rule 2): everything below them
    is closed to ``who``. From the cached snapshot of every view restriction (no query while
    cached), plus the user's groups when a group restriction applies to a non-superuser."""
    return tuple(sorted({
        item.path for item in snapshot().restrictions
        if _refusal(_Restriction(item.id, item.kind, item.group_ids), who) is not None
    }))


def visible_pages_filter(who: Viewer, *, refused: Sequence[str] | None = None) -> Q:
    """Rules 1 and 2 as a filter on a page queryset (courses, lessons): the pages ``who`` may
    see, for lists that paginate at the database. The page is live, no page above it (below the
    tree root) is a draft (a correlated subquery, no extra query) and no view restriction on it
    or above it refuses ``who`` (``refused_paths``: one query, unless ``refused`` is given).
    Gives the same answer as :func:`page_visibility` for each page (tested)."""
    hidden = refused_paths(who) if refused is None else refused
    draft_above = Page.objects.filter(
        live=False,
        depth__gte=_FIRST_SERVED_DEPTH,
        depth__lt=OuterRef("depth"),
        path=Substr(OuterRef("path"), 1, Length("path")),
    )
    condition = Q(live=True) & ~Exists(draft_above)
    for path in hidden:
        condition &= ~Q(path__startswith=path)
    return condition


def admin_hidden_paths(who: Viewer) -> tuple[str, ...]:
    """Paths of the pages whose view restriction ``who`` fails: everything below them is hidden
    from ``who`` in the admin. The admin shows drafts (editors work on them), so only view
    restrictions count here (:func:`refused_paths`), remembered on the user for the rest of the
    request. Superusers see everything."""
    if who.superuser:
        return ()
    cached = getattr(who.user, "_academy_admin_hidden_paths", None)
    if cached is not None:
        return cached
    hidden = refused_paths(who)
    if getattr(who.user, "pk", None) is not None:
        who.user._academy_admin_hidden_paths = hidden
    return hidden


def admin_course_filter(who: Viewer, *, prefix: str = "course__") -> Q:
    """A filter on enrollments (``prefix`` leads to the course) keeping only courses ``who`` may
    see in the admin (see ``admin_hidden_paths``)."""
    hidden = Q()
    for path in admin_hidden_paths(who):
        hidden |= Q(**{f"{prefix}path__startswith": path})
    return ~hidden if hidden else Q()


def admin_may_see(who: Viewer, page: Page) -> bool:
    """Whether ``who`` may see ``page`` (a course) in the admin. No query once the paths are known."""
    return not any(page.path.startswith(path) for path in admin_hidden_paths(who))


# --- Staff: whose learners ------------------------------------------------------------------------

# Wagtail page permissions that make a course "yours" as staff: who may edit or publish a course
# (on it or on a page above it) may see and manage its learners.
LEARNER_PAGE_PERMISSIONS = ("change_page", "publish_page")
# Model permissions on enrollments: seeing learners needs one of them as well (the staff rule's
# default ``permissions``; a plugin's screen names its own).
VIEW_LEARNERS_PERMISSIONS = ("learning.view_enrollment", "learning.change_enrollment")
MANAGE_LEARNERS_PERMISSION = "learning.change_enrollment"


def staff_course_paths(
    who: Viewer, *, permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> tuple[str, ...] | None:
    """Tree paths below which ``who`` may see learners as staff: None for every course
    (superusers), an empty tuple for none. A user needs one of the model ``permissions`` (by
    default the learning permissions on enrollments, ``VIEW_LEARNERS_PERMISSIONS``; a plugin
    passes its own, e.g. on its results) and a Wagtail page permission that lets them edit the
    course (``LEARNER_PAGE_PERMISSIONS``, granted on the course or a page above it). One query for
    the page grants (plus Django's cached permission lookup), none without a model permission;
    remembered on the user for the request, per set of ``permissions``."""
    if who.superuser:
        return None
    if not who.authenticated or not who.user.is_active:
        return ()
    key = tuple(permissions)
    memo: dict[tuple[str, ...], tuple[str, ...]] | None = getattr(who.user, "_academy_staff_course_paths", None)
    if memo is None:
        memo = {}
        who.user._academy_staff_course_paths = memo
    if key in memo:
        return memo[key]
    paths: tuple[str, ...] = ()
    if any(who.user.has_perm(perm) for perm in key):
        rows = GroupPagePermission.objects.filter(
            group__user=who.user, permission__codename__in=LEARNER_PAGE_PERMISSIONS,
            permission__content_type__app_label="wagtailcore",
        ).values_list("page__path", flat=True)
        paths = tuple(sorted(set(rows)))
    memo[key] = paths
    return paths


# --- Staff roles: teachers and assistants of a course or of one cohort ----------------------------


@dataclass(frozen=True)
class RoleGrant:
    """One ``CourseRole`` of a user as the rules read it: the course (its id and tree path), the
    role, and the cohort it is limited to (None: every cohort of the course). ``cohort_default``
    says the cohort is the course's default one, whose learners include those not placed in any
    cohort yet (``Enrollment.cohort`` empty: see ``learning.cohorts``)."""

    course_id: int
    course_path: str
    role: str
    cohort_id: int | None
    cohort_default: bool = False

    @property
    def teacher(self) -> bool:
        """Teachers manage learners; assistants see them and grade."""
        return self.role == CourseRole.Role.TEACHER

    def covers(self, enrollment: Enrollment) -> bool:
        """Whether this role reaches ``enrollment`` (in its course, and in its cohort when limited)."""
        if enrollment.course_id != self.course_id:
            return False
        if self.cohort_id is None:
            return True
        return enrollment.cohort_id == self.cohort_id or (enrollment.cohort_id is None and self.cohort_default)


def course_roles(who: Viewer) -> tuple[RoleGrant, ...]:
    """The teacher and assistant roles of ``who`` (``learning.models.CourseRole``). A role works
    together with admin access (the ``COURSE_STAFF_GROUP`` given with it), so users without
    ``wagtailadmin.access_admin`` (learners) cost no query; others one, remembered on the user
    for the request. Superusers need no role."""
    if not who.authenticated or who.superuser:
        return ()
    cached = getattr(who.user, "_academy_course_roles", None)
    if cached is not None:
        return cached
    grants: tuple[RoleGrant, ...] = ()
    if who.user.has_perm(ADMIN_ACCESS_PERMISSION):
        rows = CourseRole.objects.filter(user_id=who.user.pk).values_list(
            "course_id", "course__path", "role", "cohort_id", "cohort__is_default"
        ).order_by("pk")
        grants = tuple(
            RoleGrant(course_id=course_id, course_path=path, role=role, cohort_id=cohort_id,
                      cohort_default=bool(is_default))
            for course_id, path, role, cohort_id, is_default in rows
        )
    who.user._academy_course_roles = grants
    return grants


def _roles_apply(permissions: Sequence[str]) -> bool:
    """A role stands for the learning permissions on enrollments in its course: it opens a staff
    rule whose ``permissions`` include one of them (core's learner screens, and a plugin's that
    names them, e.g. quiz results), never one about something else (certificate settings)."""
    return any(permission in VIEW_LEARNERS_PERMISSIONS for permission in permissions)


def _roles_in(who: Viewer, course_id: int, *, teacher: bool = False) -> list[RoleGrant]:
    return [grant for grant in course_roles(who) if grant.course_id == course_id and (grant.teacher or not teacher)]


def _admin_beyond_course_staff(user: Any) -> bool:
    """Whether ``user``'s admin access comes from somewhere else than the course staff group
    (their own permission or another group): editors and staff, not mere role holders. From
    the shared cache of permission sets (``academy.permissions``: moved on when memberships or
    groups change); one query when cold. Remembered on the user for the request."""
    cached = getattr(user, "_academy_admin_beyond_course_staff", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        beyond = True
    else:
        from django.contrib.auth.models import Group, Permission

        from academy.permissions import PERMISSIONS

        def compute() -> bool:
            app_label, codename = ADMIN_ACCESS_PERMISSION.split(".")
            other_groups = Group.objects.filter(user=user).exclude(name=COURSE_STAFF_GROUP)
            return Permission.objects.filter(content_type__app_label=app_label, codename=codename).filter(
                Q(user=user) | Q(group__in=other_groups)
            ).exists()

        beyond = PERMISSIONS.cached("admin-beyond-course-staff", str(user.pk), compute, bool)
    user._academy_admin_beyond_course_staff = beyond
    return beyond


def may_open_staff_screen(who: Viewer, *, permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS) -> bool:
    """Whether ``who`` may open a staff screen guarded by the model ``permissions`` at all: they
    hold one of them, or a teacher or assistant role where ``permissions`` are about learners.
    What the screen then shows is narrowed by :func:`staff_course_filter` /
    :func:`staff_enrollment_filter` with the same ``permissions``."""
    if any(who.user.has_perm(permission) for permission in permissions):
        return True
    return _roles_apply(permissions) and bool(course_roles(who))


def staff_course_filter(
    who: Viewer, *, prefix: str = "course__", permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> Q:
    """A filter (``prefix`` leads to the course) keeping the courses whose learners ``who`` may
    see as staff with one of the model ``permissions``: Wagtail page permissions on the course
    (``staff_course_paths``) or a teacher or assistant role in it (of the whole course or of one
    cohort, where ``permissions`` are about learners), and not behind a view restriction
    ``who`` fails (``admin_course_filter``)."""
    paths = staff_course_paths(who, permissions=permissions)
    if paths is None:
        return admin_course_filter(who, prefix=prefix)
    roles = course_roles(who) if _roles_apply(permissions) else ()
    if not paths and not roles:
        return Q(**{f"{prefix}pk__in": []})
    granted = Q()
    for path in paths:
        granted |= Q(**{f"{prefix}path__startswith": path})
    if roles:
        granted |= Q(**{f"{prefix}pk__in": sorted({grant.course_id for grant in roles})})
    return granted & admin_course_filter(who, prefix=prefix)


def _page_rule_allows(who: Viewer, course: Page, permissions: Sequence[str]) -> bool:
    paths = staff_course_paths(who, permissions=permissions)
    return paths is None or any(course.path.startswith(path) for path in paths)


def may_see_learners(
    who: Viewer, course: Page, *, permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> bool:
    """Whether ``who`` may see the learners of ``course`` (a list, a learner's timeline, the
    analytics, the live class view) as staff with one of the model ``permissions`` (see
    ``staff_course_paths``), or as its teacher or assistant (all its learners, or one cohort's:
    lists narrow with :func:`staff_enrollment_filter`, one learner with
    :func:`may_see_enrollment`). No query once the paths and roles are known."""
    allowed = _page_rule_allows(who, course, permissions) or (
        _roles_apply(permissions) and bool(_roles_in(who, course.pk))
    )
    return allowed and admin_may_see(who, course)


def _page_rule_manages(who: Viewer, course: Page) -> bool:
    return (
        _page_rule_allows(who, course, VIEW_LEARNERS_PERMISSIONS)
        and bool(who.user.has_perm(MANAGE_LEARNERS_PERMISSION))
    )


def may_manage_learners(who: Viewer, course: Page) -> bool:
    """Whether ``who`` may enroll, unenroll and message the learners of ``course``: may see them
    and has ``learning.change_enrollment``, or is a teacher of the course (of every cohort, or
    of one: each learner is then checked with :func:`may_manage_enrollment`)."""
    if not admin_may_see(who, course):
        return False
    return _page_rule_manages(who, course) or bool(_roles_in(who, course.pk, teacher=True))


def may_manage_course_staff(who: Viewer, course: Page) -> bool:
    """Whether ``who`` may give and take the teacher and assistant roles of ``course``: whoever
    manages its learners through Wagtail's page permissions (or a superuser), never a role
    holder as such (a teacher does not appoint teachers)."""
    return admin_may_see(who, course) and _page_rule_manages(who, course)


def may_manage_cohorts(who: Viewer, course: Page) -> bool:
    """Whether ``who`` may create, edit and delete the cohorts of ``course``: its managers
    (:func:`may_manage_course_staff`) and teachers of the whole course."""
    if may_manage_course_staff(who, course):
        return True
    return admin_may_see(who, course) and any(
        grant.cohort_id is None for grant in _roles_in(who, course.pk, teacher=True)
    )


def staff_cohort_ids(who: Viewer, course: Page) -> frozenset[int] | None:
    """The cohorts of ``course`` whose learners ``who`` may see: None for all of them (page
    permissions, a superuser, a role over the whole course), else the cohorts of their roles
    (empty when they may see none)."""
    if _page_rule_allows(who, course, VIEW_LEARNERS_PERMISSIONS):
        return None
    grants = _roles_in(who, course.pk)
    if any(grant.cohort_id is None for grant in grants):
        return None
    return frozenset(grant.cohort_id for grant in grants if grant.cohort_id is not None)


def managed_cohort_ids(who: Viewer, course: Page) -> frozenset[int] | None:
    """The cohorts of ``course`` whose learners ``who`` may manage (enroll into, move to and
    from, message): None for all of them, else their teacher roles' cohorts."""
    if _page_rule_manages(who, course):
        return None
    grants = _roles_in(who, course.pk, teacher=True)
    if any(grant.cohort_id is None for grant in grants):
        return None
    return frozenset(grant.cohort_id for grant in grants if grant.cohort_id is not None)


def staff_enrollment_filter(
    who: Viewer, *, prefix: str = "", permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> Q:
    """A filter on enrollments (``prefix`` leads to them) keeping the learners ``who`` may see
    as staff: every list, count, export, message audience and live view of learners asks this.
    The per-course rule of :func:`staff_course_filter`, narrowed to their cohorts for a role
    limited to cohorts (learners in no cohort count as the default cohort's)."""
    paths = staff_course_paths(who, permissions=permissions)
    course_prefix = f"{prefix}course__"
    if paths is None:
        return admin_course_filter(who, prefix=course_prefix)
    roles = course_roles(who) if _roles_apply(permissions) else ()
    if not paths and not roles:
        return Q(**{f"{prefix}pk__in": []})
    granted = Q()
    for path in paths:
        granted |= Q(**{f"{course_prefix}path__startswith": path})
    whole = sorted({grant.course_id for grant in roles if grant.cohort_id is None})
    cohorts = sorted({grant.cohort_id for grant in roles if grant.cohort_id is not None})
    defaults = sorted({grant.course_id for grant in roles if grant.cohort_id is not None and grant.cohort_default})
    if whole:
        granted |= Q(**{f"{prefix}course_id__in": whole})
    if cohorts:
        granted |= Q(**{f"{prefix}cohort_id__in": cohorts})
    if defaults:
        granted |= Q(**{f"{prefix}cohort__isnull": True, f"{prefix}course_id__in": defaults})
    return granted & admin_course_filter(who, prefix=course_prefix)


def staff_learner_rows_filter(
    who: Viewer, *, prefix: str = "", permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> Q:
    """A filter on rows about one learner in one course (``prefix`` leads to a model with
    ``user`` and ``course``: a quiz attempt, a submission) keeping those of the learners ``who``
    may see as staff: :func:`staff_enrollment_filter` on the learner's enrollment in that course,
    so a role limited to cohorts reads its cohorts' rows only, at every door that lists them."""
    visible = Enrollment.objects.filter(
        staff_enrollment_filter(who, permissions=permissions),
        user_id=OuterRef(f"{prefix}user_id"),
        course_id=OuterRef(f"{prefix}course_id"),
    )
    return Q(Exists(visible))


def course_enrollment_scope(who: Viewer, course: Page, *, manage: bool = False) -> Q | None:
    """None when ``who`` sees (with ``manage``: manages) every learner of ``course``; else a
    filter on enrollments keeping the learners of their roles' cohorts (those in no cohort with
    the default cohort's), for a door that already checked :func:`may_see_learners` (or
    :func:`may_manage_learners`). No query once the paths and roles are known."""
    if manage:
        if _page_rule_manages(who, course):
            return None
        grants = _roles_in(who, course.pk, teacher=True)
    else:
        if _page_rule_allows(who, course, VIEW_LEARNERS_PERMISSIONS):
            return None
        grants = _roles_in(who, course.pk)
    if any(grant.cohort_id is None for grant in grants):
        return None
    scope = Q(pk__in=[])
    for grant in grants:
        scope |= Q(cohort_id=grant.cohort_id)
        if grant.cohort_default:
            scope |= Q(cohort__isnull=True, course_id=course.pk)
    return scope


def may_see_enrollment(
    who: Viewer, enrollment: Enrollment, *, permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> bool:
    """Whether ``who`` may see this one learner of a course as staff (their timeline, grades;
    with a plugin's ``permissions``, their work there): :func:`may_see_learners` of the course,
    within their cohorts for a role limited to cohorts. Reads ``enrollment.course`` (select it
    with the enrollment); no query once the paths and roles are known."""
    return _sees_enrollment(who, enrollment.course, enrollment, permissions)


def _sees_enrollment(who: Viewer, course: Page, enrollment: Enrollment, permissions: Sequence[str]) -> bool:
    if not admin_may_see(who, course):
        return False
    if _page_rule_allows(who, course, permissions):
        return True
    return _roles_apply(permissions) and any(grant.covers(enrollment) for grant in _roles_in(who, course.pk))


def may_see_learner(
    who: Viewer, course: Page, user_id: int, *, permissions: Sequence[str] = VIEW_LEARNERS_PERMISSIONS
) -> bool:
    """Whether ``who`` may see the work of one learner (``user_id``) in ``course`` as staff with
    one of the model ``permissions`` (a quiz attempt, a submission): :func:`may_see_learners` of
    the course, and for a role limited to cohorts the learner's enrollment within them. No query
    unless the role is limited to cohorts (then one); the row-level twin of
    :func:`staff_learner_rows_filter`."""
    if not may_see_learners(who, course, permissions=permissions):
        return False
    if _page_rule_allows(who, course, permissions) or any(grant.cohort_id is None for grant in _roles_in(who, course.pk)):
        return True  # every learner of the course: no need to read the enrollment
    enrollment = Enrollment.objects.filter(user_id=user_id, course_id=course.pk).only("cohort_id", "course_id").first()
    return enrollment is not None and _sees_enrollment(who, course, enrollment, permissions)


def may_manage_enrollment(who: Viewer, enrollment: Enrollment) -> bool:
    """Whether ``who`` may act on this one learner as staff (approve, unenroll, move to another
    cohort): :func:`may_manage_learners` of the course, within their cohorts for a teacher
    limited to cohorts."""
    course = enrollment.course
    if not admin_may_see(who, course):
        return False
    if _page_rule_manages(who, course):
        return True
    return any(grant.covers(enrollment) for grant in _roles_in(who, course.pk, teacher=True))


def may_grade(who: Viewer, course: Page) -> bool:
    """Whether ``who`` may change grades (overrides) of the learners of ``course``: whoever may
    manage them (:func:`may_manage_learners`) and its assistants (each learner within their
    cohorts: :func:`may_see_enrollment`, lists with :func:`staff_enrollment_filter`)."""
    return may_manage_learners(who, course) or (admin_may_see(who, course) and bool(_roles_in(who, course.pk)))


__all__ = [
    "ACCESS_STATUSES",
    "ADMIN_ACCESS_PERMISSION",
    "COURSE_STAFF_GROUP",
    "CourseAccess",
    "NotOpen",
    "PageRules",
    "RoleGrant",
    "Viewer",
    "Visibility",
    "access_status_filter",
    "access_to",
    "admin_course_filter",
    "admin_hidden_paths",
    "admin_may_see",
    "closed_lesson_ids",
    "course_access",
    "course_enrollment_scope",
    "course_roles",
    "has_access_status",
    "is_lesson_type",
    "is_privileged",
    "lesson_access",
    "lesson_not_open",
    "managed_cohort_ids",
    "may_grade",
    "may_manage_cohorts",
    "may_manage_course_staff",
    "may_manage_enrollment",
    "may_manage_learners",
    "may_read_any",
    "may_see_enrollment",
    "may_see_learners",
    "page_rules",
    "page_visibility",
    "readable_course_ids",
    "refused_paths",
    "staff_cohort_ids",
    "staff_course_filter",
    "staff_course_paths",
    "staff_enrollment_filter",
    "viewer",
    "viewer_from_request",
    "visible_pages_filter",
]
