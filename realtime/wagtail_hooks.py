"""Wagtail hooks of the realtime layer: the staff's live class view in the admin."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from wagtail import hooks

from realtime import staff_views


@hooks.register("register_admin_urls")
def register_live_class_urls() -> list[Any]:
    """/admin/live/courses/<id>/ (Wagtail requires admin access)."""
    return [path("live/", include((staff_views.urlpatterns, "realtime_staff"), namespace="realtime_staff"))]
