"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Expose the site name to templates."""
    return {"site_name": settings.WAGTAIL_SITE_NAME}
