"""WebSocket URL routes of core (composed with plugins' routes by ``siteconfig.asgi``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from realtime import consumers

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/progress/", consumers.ProgressConsumer.as_asgi()),
    path("ws/notifications/", consumers.NotificationsConsumer.as_asgi()),
    path("ws/courses/<int:course_id>/", consumers.CourseConsumer.as_asgi()),
    path("ws/staff/courses/<int:course_id>/", consumers.CourseStaffConsumer.as_asgi()),
]

# Mounted last by siteconfig.asgi (after plugins' /ws/p/<label>/): every other path is closed
# with 4404 instead of an HTTP 500 from the router.
not_found_route = re_path(r"", consumers.NotFoundConsumer.as_asgi())
