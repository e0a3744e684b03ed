"""The staff's live class view of a course in the Wagtail admin (/admin/live/courses/<id>/).

Server-rendered first picture (``learning.staff_selectors.live_class``: who is in which lesson
now, the latest completions, who is stuck longer than the course's median time per lesson),
then kept live by the staff-only stream /ws/staff/courses/<id>/ (``class.activity`` frames,
``static/js/academy-live-class.js``), resumed from the page's cursor so nothing in between is
missed. Who may open it: ``learning.access.may_see_learners``, like the stream itself. A
``?cohort=<id>`` shows one cohort's learners; a teacher or assistant of some cohorts sees only
theirs, on the page and on the stream (``CourseStaffConsumer.frame_allowed``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from courses.models import CoursePage
from learning import access, staff_selectors
from learning.staff_views import CohortChoice
from realtime.publish import current_cursor


def live_class(request: HttpRequest, course_id: int) -> HttpResponse:
    """The live class view of one course."""
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        raise Http404("No such course.")
    if not access.may_see_learners(access.viewer(request.user), course):
        raise PermissionDenied("You may not see the learners of this course.")
    choice = CohortChoice(request, course)
    data = staff_selectors.live_class(course=course, scope=choice.scope)
    by_lesson: dict[int | None, list[Any]] = {}
    for row in data.in_class:
        by_lesson.setdefault(row.resume_lesson_id, []).append(row)
    return render(request, "learning/admin/live_class.html", {
        "course": course,
        "data": data,
        "columns": [(lesson, by_lesson.get(lesson.id, [])) for lesson in data.lessons],
        "cursor": current_cursor(),
        "in_class_minutes": staff_selectors.IN_CLASS_MINUTES,
        "time_zone": settings.TIME_ZONE,  # live times in the site's zone, 24-hour like the page's
        "cohort_choice": choice,
    })


urlpatterns = [path("courses/<int:course_id>/", live_class, name="live")]
