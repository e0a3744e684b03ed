"""Discussions in core's pages: under each lesson's body (``lesson.after_body``) the first page
of its threads, and on the course page (``course.sidebar``) a link to the course's discussions.

Both render nothing for anonymous visitors (the course page's cached copy for them stays free of
discussions). The lesson fragment's ``prepare`` costs a fixed number of queries whatever the
number of threads and replies (``display.thread_page``: replies load on demand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from academy.sdk import CoursePage, SlotFragment, is_active, readable_course_ids, viewer
from plugins.discussions import display, services
from plugins.discussions.models import Thread

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
        """The first page of threads of each lesson shown: their courses (one query) and the
        pages of threads with the viewer's votes and follows (one query)."""
        user = _user(request)
        lessons = [lesson for lesson in targets if lesson is not None]
        if user is None or request is None or not lessons:
            return {}
        steplen = lessons[0].steplen
        courses = {course.path: course for course in CoursePage.objects.live().filter(path__in={page.path[:-steplen] for page in lessons})}
        places = []
        for lesson in lessons:
            course = courses.get(lesson.path[:-steplen])
            if course is None:
                continue
            # Core renders this slot only for readers of the lesson (see SLOTS): not asked again.
            place = services.place_for(user, course=course, lesson=lesson, session=getattr(request, "session", None), reader=True)
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
        }


class CourseDiscussionsLink(SlotFragment):
    """Course page: a link to the course's discussions, for those who may read them."""

    slot = "course.sidebar"
    template_name = "discussions/slots/course.html"
    query_budget = 6

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> dict[int, Any]:
        """The courses shown whose discussions the viewer may read (the access policy: two
        queries for any number of courses)."""
        user = _user(request)
        if user is None:
            return {}
        courses = [course for course in targets if course is not None and is_active(services.LABEL, course_id=course.pk)]
        readable = readable_course_ids(viewer(user, getattr(request, "session", None)), courses) if courses else set()
        return {course_id: True for course_id in readable}

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Nothing for visitors and non-readers."""
        if target is None or target.pk not in prepared:
            return None
        return {"course_id": target.pk}
