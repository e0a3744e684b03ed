"""Wagtail hooks of the realtime layer: the staff's live class view in the admin."""

from __future__ import annotations

from typing import Any

from django.urls import include, path, reverse
from wagtail import hooks

from learning import access, staff_links
from realtime import staff_views


@hooks.register("register_admin_urls")
def register_live_class_urls() -> list[Any]:
    """/admin/live/courses/<id>/ (Wagtail requires admin access)."""
    return [path("live/", include((staff_views.urlpatterns, "realtime_staff"), namespace="realtime_staff"))]


@hooks.register(staff_links.HOOK)
def live_class_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """"Live class" among the course's staff tools, for whoever may see its learners."""
    if not access.may_see_learners(access.viewer(user), course):
        return []
    return [staff_links.CourseStaffLink("live", "Live class", reverse("realtime_staff:live", args=[course.pk]),
                                        priority=30, icon="radio-full")]
