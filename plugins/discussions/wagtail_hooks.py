"""Wagtail hooks of discussions: the course queue screen, its place among the course's staff tools,
and the queue's figures on the course's Analytics screen."""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from wagtail import hooks

from academy.sdk import (
    COURSE_ANALYTICS_FIGURES_HOOK,
    COURSE_STAFF_LINKS_HOOK,
    AnalyticsFigure,
    CourseStaffLink,
    is_active,
    may_see_learners,
    viewer,
)
from plugins.discussions import services
from plugins.discussions.admin_views import CourseQueueView, format_duration


@hooks.register("register_admin_urls")
def register_admin_urls() -> list[Any]:
    """/admin/discussions/course/<id>/: one course's queue."""
    return [path("discussions/course/<int:course_id>/", CourseQueueView.as_view(), name="discussions_queue")]


@hooks.register(COURSE_STAFF_LINKS_HOOK)
def discussions_link(*, course: Any, user: Any) -> list[CourseStaffLink]:
    """"Discussions" among the course's staff tools, for its staff where the plugin is on."""
    if not is_active("discussions", course_id=course.pk) or not may_see_learners(viewer(user), course):
        return []
    return [CourseStaffLink("discussions", "Discussions", reverse("discussions_queue", args=[course.pk]), priority=70, icon="help")]


@hooks.register(COURSE_ANALYTICS_FIGURES_HOOK)
def discussions_figures(*, course: Any) -> list[AnalyticsFigure]:
    """The queue screen's median time to a first staff answer and its count of unanswered
    questions, where the plugin is on for the course (two queries)."""
    if not is_active(services.LABEL, course_id=course.pk):
        return []
    return [
        AnalyticsFigure("discussions-median-first-staff-answer", "Median time to first staff answer",
                        format_duration(services.median_first_staff_answer(course.pk))),
        AnalyticsFigure("discussions-unanswered-questions", "Unanswered questions",
                        str(services.unanswered_questions(course.pk).count())),
    ]
