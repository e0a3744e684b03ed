"""Reads the consumers need, each a fixed small number of queries (run via database_sync_to_async)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db.models import Max, Min
from django.utils.crypto import constant_time_compare

from realtime.models import Event, event_frame

# Course access for the course stream, as close codes (0 = allowed).
ACCESS_OK = 0
ACCESS_FORBIDDEN = 4403
ACCESS_NOT_FOUND = 4404
# Page ids are 64-bit integers; a larger number in the URL cannot name a course.
MAX_PAGE_ID = 2**63 - 1


def course_stream_access(*, user: Any, course_id: int, session: Mapping[str, Any] | None = None) -> int:
    """Whether ``user`` may follow course ``course_id``, as a close code: the access policy's
    "may read this course's lessons" (``learning.access``; ``session`` carries passed password
    restrictions). An unknown or unpublished course is 4404, anything else refused is 4403."""
    from courses.models import CoursePage
    from learning import access

    course = CoursePage.objects.filter(pk=course_id).only("id", "path", "live").first() if 0 < course_id <= MAX_PAGE_ID else None
    if course is None:
        return ACCESS_NOT_FOUND
    verdict = access.course_access(access.viewer(user, session), course)
    if verdict.visibility is access.Visibility.NOT_PUBLISHED:
        return ACCESS_NOT_FOUND
    return ACCESS_OK if verdict.can_read else ACCESS_FORBIDDEN


def lesson_presence_access(*, user: Any, course_id: int, lesson_id: int, session: Mapping[str, Any] | None = None) -> bool:
    """Whether ``user``, on course ``course_id``'s stream, may be counted on lesson ``lesson_id``
    and see its presence count: the lesson is a lesson of that course, and the access policy
    lets the user read it (``learning.access.lesson_access``: published, within view
    restrictions, enrolled and open, or staff). Queries: one for the lesson, then the policy's."""
    from wagtail.models import Page

    from learning import access

    if not (0 < lesson_id <= MAX_PAGE_ID and 0 < course_id <= MAX_PAGE_ID):
        return False
    lesson = Page.objects.filter(pk=lesson_id).only("id", "path", "depth", "live", "content_type_id").first()
    if lesson is None or not lesson.live or not access.is_lesson_type(lesson.content_type_id):
        return False
    parent_path = lesson.path[: -Page.steplen]
    if not Page.objects.filter(pk=course_id, path=parent_path).exists():
        return False
    return access.lesson_access(access.viewer(user, session), lesson, course_id=course_id).can_read


def course_staff_stream_access(*, user: Any, course_id: int) -> int:
    """Whether ``user`` may follow the live class view of course ``course_id``, as a close code:
    the access policy's ``may_see_learners``. An unknown course is 4404, a refusal 4403."""
    from courses.models import CoursePage
    from learning import access

    course = CoursePage.objects.filter(pk=course_id).only("id", "path").first() if 0 < course_id <= MAX_PAGE_ID else None
    if course is None:
        return ACCESS_NOT_FOUND
    return ACCESS_OK if access.may_see_learners(access.viewer(user), course) else ACCESS_FORBIDDEN


# The longest id a stream's query string may name (bigint).
MAX_ID_DIGITS = 19


def frame_learner_id(frame: str) -> int | None:
    """The learner a stored frame is about (``data.user_id``), or None."""
    try:
        value = json.loads(frame).get("data", {}).get("user_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def staff_sees_every_learner(*, user: Any, course_id: int) -> bool:
    """Whether ``user`` may see every learner of course ``course_id`` as staff (not only some
    cohorts'). One query (the course)."""
    from courses.models import CoursePage
    from learning import access

    course = CoursePage.objects.filter(pk=course_id).only("id", "path").first()
    if course is None:
        return False
    who = access.viewer(user)
    return access.may_see_learners(who, course) and access.course_enrollment_scope(who, course) is None


def query_cohort_id(query_string: bytes) -> int | None:
    """The ``cohort`` of a stream URL's query string, or None (none, or not an id: -1 then,
    which matches no cohort)."""
    from urllib.parse import parse_qs

    values = parse_qs(query_string.decode("latin-1")).get("cohort")
    if not values or not values[0]:
        return None
    return int(values[0]) if values[0].isdigit() and len(values[0]) <= MAX_ID_DIGITS else -1


def staff_sees_learner(*, user: Any, course_id: int, learner_id: int, cohort_id: int | None = None) -> bool:
    """Whether ``user`` (staff of course ``course_id``) may see learner ``learner_id`` there:
    always for whoever sees every learner of the course; for a teacher or assistant of some
    cohorts, when the learner is in one of them (``access.course_enrollment_scope``); with
    ``cohort_id``, only a learner of that cohort (one the user may see). At most three queries
    (the course, the cohort, the enrollment)."""
    from courses.models import CoursePage
    from learning import access, cohorts
    from learning.models import Cohort, Enrollment

    course = CoursePage.objects.filter(pk=course_id).only("id", "path").first()
    if course is None:
        return False
    who = access.viewer(user)
    if not access.may_see_learners(who, course):
        return False
    chosen = Cohort.objects.filter(pk=cohort_id, course_id=course_id).first() if cohort_id is not None else None
    visible = access.staff_cohort_ids(who, course)
    if cohort_id is not None and (chosen is None or (visible is not None and chosen.pk not in visible)):
        return False
    scope = cohorts.learner_scope(who, course, cohort=chosen)
    if scope is None:
        return True
    return Enrollment.objects.filter(scope, course_id=course_id, user_id=learner_id).exists()


def session_is_current(*, session_key: str | None, user: Any) -> bool:
    """Whether the login session is still the user's (not logged out, flushed or expired).

    Also false after a password change elsewhere (the stored auth hash no longer matches).
    """
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(store.get(SESSION_KEY, "")) != str(user.pk):
        return False
    stored_hash = store.get(HASH_SESSION_KEY) or ""
    return constant_time_compare(stored_hash, user.get_session_auth_hash())


def events_after(*, groups: list[str], since: int, limit: int) -> list[tuple[int, str]]:
    """Stored events of ``groups`` with id > ``since``, oldest first: (id, frame) pairs."""
    rows = Event.objects.filter(group__in=groups, id__gt=since).order_by("id")[:limit]
    return [(row.pk, row.frame()) for row in rows]


def readable_courses(*, user: Any, course_ids: Iterable[int], session: Mapping[str, Any] | None = None) -> set[int]:
    """Which of ``course_ids`` ``user`` may read now: the access policy's
    ``readable_course_ids`` (an unknown or deleted course is not readable). Three queries at most
    (the courses, their rules, the enrollments), none for no ids."""
    from courses.models import CoursePage
    from learning import access

    ids = {course_id for course_id in course_ids if 0 < course_id <= MAX_PAGE_ID}
    if not ids:
        return set()
    courses = list(CoursePage.objects.filter(pk__in=ids).only("id", "path"))
    return access.readable_course_ids(access.viewer(user, session), courses)


def frame_course_id(data: Any) -> int | None:
    """The course an event's ``data`` is about (its ``course_id``), or None for none."""
    course_id = data.get("course_id") if isinstance(data, dict) else None
    return course_id if isinstance(course_id, int) and not isinstance(course_id, bool) else None


def live_frame_course_id(frame: str) -> int | None:
    """The course a live text frame is about (see :func:`frame_course_id`)."""
    try:
        return frame_course_id(json.loads(frame).get("data"))
    except (ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class Replay:
    """What a resume sends: the stored events ``user`` may still read, oldest first."""

    events: list[tuple[int, str]]  # (id, frame) pairs
    truncated: bool  # more than the limit are stored after ``since``: the client resyncs
    readable: frozenset[int]  # courses of these events the user may read
    refused: frozenset[int]  # courses of these events the user may no longer read


def frame_switched_off(event_type: str, course_id: int | None, *, current: Any = None) -> bool:
    """Whether an event of ``event_type`` (``<app>.<event>``) comes from a plugin that is not
    active for ``course_id`` (site-wide when None), or not running here at all (excluded,
    refused): its stored frames are not replayed, its live ones not sent. Core's always go.
    ``current``: the activation table already read (one shared cache read otherwise)."""
    from academy.plugins import activation
    from academy.plugins.registry import absent_labels, get_plugin

    app = event_type.partition(".")[0]
    if get_plugin(app) is None:
        return app in absent_labels()
    return not activation.is_active(app, course_id=course_id, current=current)


def _without_switched_off(rows: list[tuple[int, str, Any]], course_id: int | None) -> list[tuple[int, str, Any]]:
    """``rows`` (id, type, data) without the frames of plugins switched off for their course: the
    activation table is read once, and only when some row is a plugin's."""
    from academy.plugins import activation
    from academy.plugins.registry import absent_labels, plugins

    labels = {plugin.label for plugin in plugins()} | absent_labels()
    if not any(event_type.partition(".")[0] in labels for _id, event_type, _data in rows):
        return rows
    current = activation.table()
    return [
        (event_id, event_type, data)
        for event_id, event_type, data in rows
        if not frame_switched_off(event_type, frame_course_id(data) or course_id, current=current)
    ]


def replay_after(
    *,
    groups: list[str],
    since: int,
    limit: int,
    user: Any | None,
    session: Mapping[str, Any] | None = None,
    course_id: int | None = None,
) -> Replay:
    """Stored events of ``groups`` after ``since`` (at most ``limit``), without those about a
    course ``user`` may no longer read (the access policy, asked now: an enrollment cancelled or a
    restriction added since the event was stored); events about no course always come. ``user``
    None: no filter (a stream whose access was decided for its one course, ``course_id``).
    Events of a plugin switched off for their course (:func:`frame_switched_off`) never come.
    Queries: one for the events, and :func:`readable_courses` when some are about a course."""
    rows = list(Event.objects.filter(group__in=groups, id__gt=since).order_by("id").values_list("id", "type", "data")[: limit + 1])
    truncated = len(rows) > limit
    rows = _without_switched_off(rows[:limit], course_id)
    course_ids: set[int] = set()
    if user is not None:
        course_ids = {course_id for _id, _type, data in rows if (course_id := frame_course_id(data)) is not None}
    readable = readable_courses(user=user, course_ids=course_ids, session=session) if course_ids else set()
    events = [
        (event_id, event_frame(event_type=event_type, event_id=event_id, data=data))
        for event_id, event_type, data in rows
        if user is None or (course_id := frame_course_id(data)) is None or course_id in readable
    ]
    return Replay(events, truncated, frozenset(readable), frozenset(course_ids - readable))


def outbox_bounds() -> tuple[int, int]:
    """The lowest and highest stored event ids (0, 0 when the outbox is empty). One query."""
    bounds = Event.objects.aggregate(first=Min("id"), last=Max("id"))
    return bounds["first"] or 0, bounds["last"] or 0


def latest_event_id() -> int:
    """The highest stored event id (0 when none): a page's resume cursor."""
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
