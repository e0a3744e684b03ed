"""The v1 URLconf, mounted at ``/api/v1/`` by siteconfig.urls. One module: core routes, then the
place where plugin routers go.

Plugins (issue 10): each active plugin's ``api.py`` is mounted under ``p/<label>/`` by appending
to ``urlpatterns`` below the core routes (``plugin_path`` builds the entry), so a plugin can never
shadow a core route. Paths under /api/ that match nothing are answered by siteconfig.urls with
the JSON 404 of ``learning.api.errors.not_found``, after this module.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, include, path

from learning.api import views

app_name = "api-v1"

urlpatterns: list[URLPattern | URLResolver] = [
    path("courses/", views.CourseListView.as_view(), name="courses"),
    path("courses/<int:course_id>/", views.CourseDetailView.as_view(), name="course"),
    path("lessons/", views.LessonListView.as_view(), name="lessons"),
    path("lessons/<int:lesson_id>/", views.LessonDetailView.as_view(), name="lesson"),
    path("enrollments/", views.EnrollmentListView.as_view(), name="enrollments"),
    path("enrollments/<int:enrollment_id>/", views.EnrollmentDetailView.as_view(), name="enrollment"),
    path("enrollments/<int:enrollment_id>/approve/", views.EnrollmentApproveView.as_view(), name="enrollment-approve"),
    path("enrollments/<int:enrollment_id>/cancel/", views.EnrollmentCancelView.as_view(), name="enrollment-cancel"),
    path("progress/", views.ProgressView.as_view(), name="progress"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("notifications/read/", views.NotificationReadView.as_view(), name="notifications-read"),
    path("notifications/read-all/", views.NotificationReadAllView.as_view(), name="notifications-read-all"),
    path("me/", views.MeView.as_view(), name="me"),
]

# --- Plugin routers: /api/v1/p/<label>/ ------------------------------------------------------------
PLUGIN_PREFIX = "p/"


def plugin_path(label: str, urlconf: Any) -> URLResolver:
    """The entry mounting a plugin's API URLconf (its ``api.py`` module) under ``p/<label>/``."""
    return path(f"{PLUGIN_PREFIX}{label}/", include(urlconf))


# The wiring (siteconfig) appends ``plugin_path(label, module)`` here for each active plugin.
