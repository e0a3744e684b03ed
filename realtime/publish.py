"""``publish()``: the one way to push a live event. Store the event row, then send it.

Receivers call it after the domain transaction committed. The stored row is what makes delivery
lossless: a client that was offline, slow (its channel full) or connected to a process that
missed the send resumes from the last id it saw and gets the rest from the table.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
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
        _sender.send(event.group, message)
    except Exception:
        logger.warning(
            "live send of event %s to %s failed; stored for resume", event.pk, event.group, exc_info=True
        )


class _Sender:
    """Sends to the channel layer from sync code on one long-lived event loop of this process.

    ``async_to_sync`` made a new event loop for every send, and channels-redis keeps its
    connections per loop: each push opened a new Redis connection (the profile of a lesson
    completion showed the send as a third of the request's work). Sends are sequential, in the
    order they were made, and each waits at most ``SEND_TIMEOUT`` seconds.
    """

    SEND_TIMEOUT = 5.0

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pid = 0
        self._shared: Any = None
        self._own: Any = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="live-sender", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
                self._order = asyncio.Lock()
            return self._loop

    async def _in_order(self, group: str, message: dict[str, Any]) -> None:
        async with self._order:
            await self._layer().group_send(group, message)

    def _layer(self) -> Any:
        """The process's channel layer, or for a layer with connections (Redis) an instance of
        its own: the shared one's per-loop connections are closed from the consumers' loop, which
        must never reach this loop's."""
        shared = get_channel_layer()
        if isinstance(shared, InMemoryChannelLayer):
            return shared  # its queues are the process's own: sending elsewhere reaches nobody
        if self._shared is not shared:
            self._shared, self._own = shared, channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        return self._own

    def send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``group`` and wait until the layer took it (from sync code)."""
        loop = self._running_loop()
        asyncio.run_coroutine_threadsafe(self._in_order(group, message), loop).result(timeout=self.SEND_TIMEOUT)


_sender = _Sender()


def ring_bell() -> None:
    """Tell relays in other processes (embedded mode) that a new event is stored."""
    path = conf.bell_path()
    try:
        path.touch()  # creates the file, or updates its mtime
    except OSError:
        logger.warning("cannot touch %s; relays fall back to polling", path, exc_info=True)
