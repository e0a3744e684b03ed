"""Wagtail hooks of discussions: the course queue screen and its place among the course's staff tools."""

from __future__ import annotations

from typing import Any

from django.urls import path, reverse
from wagtail import hooks

from academy.sdk import (
    COURSE_STAFF_LINKS_HOOK,
    CourseStaffLink,
    is_active,
    may_see_learners,
    viewer,
)
from plugins.discussions.admin_views import CourseQueueView


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
