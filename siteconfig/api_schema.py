"""OpenAPI schema hooks (drf-spectacular)."""

from __future__ import annotations

from typing import Any

PUBLIC_API_PREFIX = "/api/"


def only_public_api(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Keep the endpoints under /api/; Wagtail's admin API (/admin/api/) is internal."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PUBLIC_API_PREFIX)]
