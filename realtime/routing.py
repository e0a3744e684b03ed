"""WebSocket URL routes (mounted by ``siteconfig.asgi``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from realtime import consumers

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/progress/", consumers.ProgressConsumer.as_asgi()),
    path("ws/notifications/", consumers.NotificationsConsumer.as_asgi()),
    path("ws/courses/<int:course_id>/", consumers.CourseConsumer.as_asgi()),
]
