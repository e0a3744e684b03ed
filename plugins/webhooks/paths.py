"""The ``webhooks_id`` path converter of the plugin's admin and API URLs."""

from __future__ import annotations

from django.urls import register_converter

# 18 digits are always within a bigint.
ID_PATTERN = "[0-9]{1,18}"


class IdConverter:
    """An id in a path: a longer number matches nothing (a 404) instead of overflowing in the
    database (a 500)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        """The id."""
        return int(value)

    def to_url(self, value: int) -> str:
        """The id as digits."""
        return str(value)


register_converter(IdConverter, "webhooks_id")
