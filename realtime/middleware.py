"""Capture the page's live-update resume cursor before the view reads anything.

A page reflects the data its view read; the browser client then resumes its WebSockets from the
page's cursor. Taking the cursor *before* the view runs means an event stored while the page was
being built is replayed (and applied idempotently) instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from realtime.publish import current_cursor


class LiveCursorMiddleware:
    """Set ``request.live_cursor`` on GET requests of a browser session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Read the cursor first (only logged-in pages load the client; they carry a session)."""
        if request.method == "GET" and settings.SESSION_COOKIE_NAME in request.COOKIES:
            request.live_cursor = current_cursor()  # type: ignore[attr-defined]
        return self.get_response(request)
