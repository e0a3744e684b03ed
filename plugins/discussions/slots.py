"""Discussions in core's pages: under each lesson's body (``lesson.after_body``) the first page
of its threads, and on the course page (``course.sidebar``) a link to the course's discussions.

Both render nothing for anonymous visitors (the course page's cached copy for them stays free of
discussions). The lesson fragment's ``prepare`` costs a fixed number of queries whatever the
number of threads and replies: the first ``display.LESSON_PAGE_SIZE`` threads and their total in
one query (replies load on demand, later threads with "Show more"); their summaries come from
the cache (``display.summaries_html``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse

from academy.sdk import (
    CoursePage,
    Enrollment,
    SlotFragment,
    access_status_filter,
    is_active,
    viewer,
)
from plugins.discussions import display, services
from plugins.discussions.models import CourseSettings, Thread

SORT_PARAM = "dsort"
QUERY_PARAM = "dq"
PAGE_PARAM = "dpage"


def _user(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class LessonThreads(SlotFragment):
    """Lesson page: ask, and the lesson's threads (sorted, searched, paged by query string)."""

    slot = "lesson.after_body"
    template_name = "discussions/slots/lesson.html"
    query_budget = 12

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> dict[int, Any]:
        """The first page of threads of each lesson shown: their courses (none when the page's
        route loaded them, their settings then cached; else one query with their settings) and
        the pages of threads with their totals (one query; none when the lesson's page is shared
        and cached: ``display.shared_lesson_page``)."""
        user = _user(request)
        lessons = [lesson for lesson in targets if lesson is not None]
        if user is None or request is None or not lessons:
            return {}
        steplen = lessons[0].steplen
        courses = {}
        for lesson in lessons:
            # A lesson page reached through the site's route knows its (live) course already.
            routed = getattr(lesson, "routed_ancestors", None) or []
            if routed and isinstance(routed[-1], CoursePage) and routed[-1].path == lesson.path[:-steplen]:
                courses[routed[-1].path] = routed[-1]
        unknown = {page.path[:-steplen] for page in lessons} - set(courses)
        confs = {}
        if unknown:  # one query, with their settings
            own = CourseSettings.objects.filter(course_id=OuterRef("pk"))
            for course in CoursePage.objects.live().filter(path__in=unknown).annotate(
                premoderate=Subquery(own.values("premoderate_first_posts")[:1]), by_cohort=Subquery(own.values("scope_by_cohort")[:1])
            ):
                courses[course.path] = course
                confs[course.pk] = CourseSettings(course_id=course.pk, premoderate_first_posts=bool(course.premoderate),
                                                  scope_by_cohort=bool(course.by_cohort))
        places = []
        for lesson in lessons:
            course = courses.get(lesson.path[:-steplen])
            if course is None:
                continue
            # Core renders this slot only for readers of the lesson (see SLOTS): not asked again.
            place = services.place_for(user, course=course, lesson=lesson, session=getattr(request, "session", None),
                                       reader=True, conf=confs.get(course.pk) or services.settings_for(course.pk))
            if place.can_read:
                places.append(place)
        pages = display.lesson_thread_pages(
            places, sort=request.GET.get(SORT_PARAM, "active"), query=request.GET.get(QUERY_PARAM, "")[:200],
            page=display.parse_page(request.GET.get(PAGE_PARAM)),
        )
        return {place.lesson.pk: (place, pages[place.lesson.pk]) for place in places}

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Nothing for those who may not read the lesson's threads."""
        if target is None or target.pk not in prepared:
            return None
        place, page = prepared[target.pk]
        return {
            "place": place, "page": page, "lesson": target, "kinds": Thread.Kind.choices, "sorts": list(services.SORTS),
            "sort_param": SORT_PARAM, "query_param": QUERY_PARAM, "page_param": PAGE_PARAM,
            "summaries": display.summaries_html(page.threads), "list_url": reverse("discussions:list", args=[target.pk]),
        }


class CourseDiscussionsLink(SlotFragment):
    """Course page: a link to the course's discussions, for those who may read them."""

    slot = "course.sidebar"
    template_name = "discussions/slots/course.html"
    query_budget = 6

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> dict[int, Any]:
        """The courses shown whose discussions the viewer may read: one query for any number of
        courses. Core renders this slot only for those who may see the course page, so what is
        left of the access policy's ``can_read`` is an enrollment with an access status
        (``access_status_filter``), or being privileged."""
        user = _user(request)
        if user is None:
            return {}
        course_ids = [c.pk for c in targets if c is not None and is_active(services.LABEL, course_id=c.pk)]
        if not course_ids:
            return {}
        enrolled = set(
            Enrollment.objects.filter(access_status_filter(), user_id=user.pk, course_id__in=course_ids)
            .values_list("course_id", flat=True)
        )
        if len(enrolled) < len(set(course_ids)) and viewer(user, getattr(request, "session", None)).privileged:
            return dict.fromkeys(course_ids, True)
        return dict.fromkeys(enrolled, True)

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Nothing for visitors and non-readers."""
        if target is None or target.pk not in prepared:
            return None
        return {"course_id": target.pk}
