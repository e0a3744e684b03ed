"""``{% live_script %}``: the live-update client, with the page's resume cursor.

The cursor is the highest stored event id, kept in the cache by ``publish()`` so rendering a page
costs no database query. On a cache miss the client starts from "now" (no replay).
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from realtime.publish import cached_cursor

register = template.Library()


@register.simple_tag
def live_script() -> str:
    """A deferred <script> tag for realtime/live.js carrying ``data-live-cursor``."""
    cursor = cached_cursor()
    return format_html(
        '<script src="{}" defer data-live-cursor="{}"></script>',
        static("realtime/live.js"),
        "" if cursor is None else cursor,
    )
