"""The learner's calendar feed: a secret iCal URL with a VEVENT per due date of their lessons.

``calendar_feed_get_or_create`` and ``calendar_feed_regenerate`` are the only writers of
``CalendarFeed`` (one row per user; regenerating replaces the token, so the old URL answers 404
from then on). ``feed_ics`` renders the feed (``icalendar``) from
``learning.date_selectors.learner_dated_lessons``: the due dates of the lessons of the courses
the learner may read (an active or completed enrollment), as the dashboard shows them.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from icalendar import Calendar, Event

from academy.email import absolute_url
from learning.date_selectors import learner_dated_lessons
from learning.models import CalendarFeed
from learning.selectors import PageUrls

# Bytes of randomness in a feed token (256 bits, URL-safe base64: 43 characters).
TOKEN_BYTES = 32
PRODUCT_ID = "-//Academy//Lesson due dates//EN"


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def calendar_feed_get_or_create(*, user: Any) -> CalendarFeed:
    """The user's calendar feed, made on first need (race-safe: one row per user)."""
    found = CalendarFeed.objects.filter(user_id=user.pk).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(user_id=user.pk, token=_new_token(), created_at=timezone.now())
    except IntegrityError:
        return CalendarFeed.objects.get(user_id=user.pk)


def calendar_feed_regenerate(*, user: Any) -> CalendarFeed:
    """Give the user's feed a new token: the old URL stops working at once."""
    with transaction.atomic():
        feed = calendar_feed_get_or_create(user=user)
        feed.token = _new_token()
        feed.created_at = timezone.now()
        feed.save(update_fields=["token", "created_at"])
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed whose token is ``token`` (with its user, active only), or None. One query."""
    if not token or len(token) > CalendarFeed._meta.get_field("token").max_length:
        return None
    return CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first()


def _uid_host() -> str:
    return urlsplit(settings.ACADEMY_BASE_URL).hostname or "academy"


def feed_ics(*, user: Any, now: datetime) -> bytes:
    """The iCal document of ``user``'s due dates at ``now``: one VEVENT per dated lesson (its
    due moment; a completed lesson says so). Queries: those of ``learner_dated_lessons``."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Academy: due dates")
    urls = PageUrls()
    host = _uid_host()
    for item in learner_dated_lessons(user=user, now=now):
        event = Event()
        event.add("uid", f"lesson-{item.lesson_id}-due-{user.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", item.due_at)
        event.add("dtend", item.due_at)
        event.add("summary", f"Due: {item.lesson_title} ({item.course_title})")
        url = urls.url(item.lesson_url_path)
        if url:
            event.add("url", absolute_url(url))
        state = "Completed." if item.completed else ("Overdue." if item.overdue else "Not completed yet.")
        event.add("description", f"{item.lesson_title} in {item.course_title} is due. {state}")
        calendar.add_component(event)
    return calendar.to_ical()


__all__ = [
    "calendar_feed_get_or_create",
    "calendar_feed_regenerate",
    "feed_for_token",
    "feed_ics",
]
