"""Template tags that bring a visitor's learning state into Wagtail page templates.

Course and lesson pages are served by Wagtail (their ``get_context`` belongs to ``courses``);
these tags call ``learning.selectors`` so the templates stay free of queries of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import template
from wagtail.admin.widgets.button import HeaderButton

from courses.models import CoursePage, LessonPage
from learning.selectors import CourseState, LessonState, course_state, lesson_state
from learning.staff_links import CourseStaffLink, course_links

register = template.Library()


def _user(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True, name="course_state")
def course_state_tag(context: template.Context, course: CoursePage, lessons: Sequence[LessonPage]) -> CourseState:
    """``{% course_state page lessons as state %}``: enrollment, progress and ticks of the visitor."""
    return course_state(user=_user(context), course=course, lessons=lessons)


@register.simple_tag(takes_context=True, name="course_staff_links")
def course_staff_links_tag(context: template.Context, course: CoursePage) -> list[CourseStaffLink]:
    """The staff tools of ``course`` the current user may open (``learning.staff_links``): the
    tabs atop every staff screen."""
    return course_links(course, _user(context))


@register.simple_tag(takes_context=True, name="course_header_buttons")
def course_header_buttons_tag(context: template.Context, page: Any) -> list[HeaderButton]:
    """The staff tools of a course page (``learning.staff_links``, those with ``header``) as
    buttons in its admin header, beside the breadcrumbs (Wagtail 8 puts the
    ``register_page_header_buttons`` ones in the "..." menu); none for other pages."""
    if page is None or not isinstance(getattr(page, "specific_deferred", page), CoursePage):
        return []
    return [
        HeaderButton(link.label, url=link.url, icon_name=link.icon, attrs={"data-course-staff-link": link.name})
        for link in course_links(page, _user(context)) if link.header
    ]


@register.simple_tag(takes_context=True, name="lesson_state")
def lesson_state_tag(context: template.Context, lesson: LessonPage, course: CoursePage) -> LessonState:
    """``{% lesson_state page course as state %}``: may the visitor read it, is it complete."""
    return lesson_state(user=_user(context), lesson=lesson, course=course)


@register.inclusion_tag("learning/includes/progress.html")
def progress_bar(percent: int, completed: int, total: int) -> dict[str, int]:
    """The progress bar, percent and "3 of 5 lessons" count of the live-update DOM contract."""
    return {"percent": percent, "completed": completed, "total": total}


@register.filter
def is_complete_in(lesson_id: int, completed_ids: frozenset[int]) -> bool:
    """``{% if lesson.pk|is_complete_in:state.completed_ids %}``."""
    return lesson_id in completed_ids


@register.filter
def lesson_when(when: Mapping[int, Any], lesson_id: int) -> Any:
    """``{% with when=state.when|lesson_when:lesson.pk %}``: a lesson's dates for the learner
    (a ``learning.date_selectors.LessonWhen``), or None when it has none."""
    return when.get(lesson_id) if when else None


@register.simple_tag(name="learner_impact_warning")
def learner_impact_warning_tag(page: Any, action: str) -> str:
    """``{% learner_impact_warning page "unpublish" as warning %}``: what the action does to the
    page's learners, in words ("" when it carries none). Used by the admin's confirmations."""
    from learning.publishing import impact_warning, learner_impact

    return impact_warning(learner_impact(page), action)
