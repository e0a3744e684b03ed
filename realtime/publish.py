"""``publish()``: the one way to push a live event. Store the event row, then send it.

Receivers call it after the domain transaction committed. The stored row is what makes delivery
lossless: a client that was offline, slow (its channel full) or connected to a process that
missed the send resumes from the last id it saw and gets the rest from the table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

from realtime import conf
from realtime.models import Event
from realtime.relay import live_message, relay

logger = logging.getLogger(__name__)

# Cache key of the highest stored event id (the resume cursor rendered into pages).
CURSOR_CACHE_KEY = "realtime:cursor"


def publish(*, group: str, event_type: str, data: Mapping[str, Any]) -> Event:
    """Store event ``event_type`` for ``group`` and push it to the group's open sockets.

    Guarantees: the row is stored (with an id greater than every earlier one) before any socket
    sees the frame; the send happens after the surrounding transaction commits (at once outside
    one); a failing channel layer (Redis down) is logged and never raises, since clients catch
    up from the stored row when they reconnect.
    """
    event = Event.objects.create(group=group, type=event_type, data=dict(data))
    # The line carries the id of the request or task that caused the push (academy.logging).
    logger.info("push %s #%s to %s", event_type, event.pk, group)
    transaction.on_commit(lambda: _send(event), robust=True)
    return event


def cached_cursor() -> int | None:
    """The highest event id published recently (None when unknown): a page's resume cursor."""
    try:
        value = cache.get(CURSOR_CACHE_KEY)
    except Exception:
        return None
    return value if isinstance(value, int) else None


def current_cursor() -> int:
    """The resume cursor for a page: from the cache, or from the outbox when the cache lost it
    (one query, and the cache is primed again for the next pages)."""
    cursor = cached_cursor()
    if cursor is not None:
        return cursor
    from realtime.selectors import latest_event_id

    cursor = latest_event_id()
    try:
        # add(), not set(): a publish that raced this read keeps its higher id.
        cache.add(CURSOR_CACHE_KEY, cursor, None)
    except Exception:
        logger.warning("cannot store the resume cursor in the cache", exc_info=True)
    return cursor


def _send(event: Event) -> None:
    try:
        # A racing publisher may store a lower id last: pages then replay a few events twice,
        # which the client applies idempotently. Never higher than a committed id.
        cache.set(CURSOR_CACHE_KEY, event.pk, None)
    except Exception:
        logger.warning("cannot store the resume cursor in the cache", exc_info=True)
    if conf.uses_relay():
        ring_bell()
        relay.wake()
        return
    message = live_message(event_type=event.type, event_id=event.pk, frame=event.frame())
    try:
        async_to_sync(get_channel_layer().group_send)(event.group, message)
    except Exception:
        logger.warning(
            "live send of event %s to %s failed; stored for resume", event.pk, event.group, exc_info=True
        )


def ring_bell() -> None:
    """Tell relays in other processes (embedded mode) that a new event is stored."""
    path = conf.bell_path()
    try:
        path.touch()  # creates the file, or updates its mtime
    except OSError:
        logger.warning("cannot touch %s; relays fall back to polling", path, exc_info=True)
