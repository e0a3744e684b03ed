"""``{% live_script %}``: the live-update client, with the page's resume cursor.

The cursor is the highest stored event id, taken when the request started
(``realtime.middleware.LiveCursorMiddleware``) from the cache that ``publish()`` keeps current,
or from the outbox when the cache lost it.
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from realtime.publish import current_cursor

register = template.Library()


@register.simple_tag(takes_context=True)
def live_script(context: template.Context) -> str:
    """A deferred <script> tag for realtime/live.js carrying ``data-live-cursor``."""
    request = context.get("request")
    cursor = getattr(request, "live_cursor", None)
    if cursor is None:
        cursor = current_cursor()
    return format_html(
        '<script src="{}" defer data-live-cursor="{}"></script>', static("realtime/live.js"), cursor
    )
