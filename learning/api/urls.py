"""The core v1 URLconf, mounted at ``/api/v1/`` by siteconfig.urls.

Plugins' routers (their ``api.py``) are mounted by siteconfig.urls under ``/api/v1/p/<label>/``
right after these routes (``academy.plugins.urls.plugin_api_urlpatterns``), so a plugin can never
shadow a core route; ``p/`` is theirs, core never uses it. Paths under /api/ that match nothing
get the JSON 404 of ``learning.api.errors.not_found``, after both.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from learning.api import staff_views, views

app_name = "api-v1"

urlpatterns: list[URLPattern | URLResolver] = [
    path("courses/", views.CourseListView.as_view(), name="courses"),
    path("courses/<id:course_id>/", views.CourseDetailView.as_view(), name="course"),
    path("lessons/", views.LessonListView.as_view(), name="lessons"),
    path("lessons/<id:lesson_id>/", views.LessonDetailView.as_view(), name="lesson"),
    path("enrollments/", views.EnrollmentListView.as_view(), name="enrollments"),
    path("enrollments/<id:enrollment_id>/", views.EnrollmentDetailView.as_view(), name="enrollment"),
    path("enrollments/<id:enrollment_id>/approve/", views.EnrollmentApproveView.as_view(), name="enrollment-approve"),
    path("enrollments/<id:enrollment_id>/cancel/", views.EnrollmentCancelView.as_view(), name="enrollment-cancel"),
    path("progress/", views.ProgressView.as_view(), name="progress"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("notifications/read/", views.NotificationReadView.as_view(), name="notifications-read"),
    path("notifications/read-all/", views.NotificationReadAllView.as_view(), name="notifications-read-all"),
    path("me/", views.MeView.as_view(), name="me"),
    path("socket-tickets/", views.SocketTicketView.as_view(), name="socket-tickets"),
    # Staff and integrations (learning.api.staff_views).
    path("courses/<id:course_id>/enrollments/", staff_views.CourseEnrollmentsView.as_view(), name="course-enrollments"),
    path("courses/<id:course_id>/enrollments/approve/", staff_views.CourseEnrollmentsApproveView.as_view(),
         name="course-enrollments-approve"),
    path("courses/<id:course_id>/enrollments/cancel/", staff_views.CourseEnrollmentsCancelView.as_view(),
         name="course-enrollments-cancel"),
    path("courses/<id:course_id>/enrollments/<id:enrollment_id>/", staff_views.CourseEnrollmentView.as_view(),
         name="course-enrollment"),
    path("courses/<id:course_id>/progress/", staff_views.CourseProgressReportView.as_view(), name="course-progress"),
    path("courses/<id:course_id>/gradebook/", staff_views.CourseGradebookView.as_view(), name="course-gradebook"),
    path("users/by-external-id/<slug:system>/<str:external_id>/", staff_views.ExternalUserView.as_view(),
         name="user-by-external-id"),
]
