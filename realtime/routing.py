"""WebSocket URL routes (mounted by ``siteconfig.asgi``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
