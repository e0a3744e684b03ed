"""Template context of the learning core shared by every page."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from learning.selectors import cached_unread_notification_count


def notifications(request: HttpRequest) -> dict[str, object]:
    """``unread_notification_count`` for the header badge, counted only if a template uses it.

    Lazy, so pages that override it (the dashboard counts it with its notification list) or
    never show it cost no query; anonymous visitors always get 0 without a query.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notification_count": 0}
    return {"unread_notification_count": SimpleLazyObject(lambda: cached_unread_notification_count(user_id=user.pk))}
