"""The outbox relay of the embedded mode: stored events -> this process's sockets.

Without a shared channel layer (no Redis), a push raised in the task worker process cannot reach
the web process's sockets through Channels. Every push is stored first (``realtime.models.Event``),
so the web process delivers what was stored instead: one relay task per event loop waits on a
cheap doorbell (an in-process wake-up, or the mtime of a file that publishers in other processes
touch, checked every 50 ms) and then reads the new rows with one indexed query. It also polls the
table every couple of seconds regardless, so a lost doorbell only delays delivery.

Ids are allocated when a row is inserted but become visible when it commits, so a lower id can
appear after a higher one (PostgreSQL, concurrent writers). The relay keeps a low-water mark
below which everything was delivered and re-reads above it, waiting a few seconds for a hole
to fill before it gives up on that id (a rolled-back insert leaves a permanent hole).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from realtime import conf
from realtime.models import Event

logger = logging.getLogger(__name__)

# Rows read per query; a longer backlog is read in several rounds without waiting.
BATCH_SIZE = 500


def live_message(*, event_type: str, event_id: int, frame: str) -> dict[str, object]:
    """The channel-layer message carrying one stored event (handler ``<app>_<event>``)."""
    return {"type": event_type, "id": event_id, "frame": frame}


def _latest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _rows_after(low: int) -> list[tuple[int, str, str, str]]:
    rows = Event.objects.filter(id__gt=low).order_by("id")[:BATCH_SIZE]
    return [(row.pk, row.group, row.type, row.frame()) for row in rows]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class OutboxRelay:
    """Delivers stored events to this process's channel layer, once each, in id order."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._low = 0
        self._delivered: set[int] = set()
        self._holes: dict[int, float] = {}
        self._started: asyncio.Future[None] | None = None

    async def ensure_running(self) -> None:
        """Start the relay on the running event loop unless it already runs there.

        Returns once the relay knows its starting point, so an event stored after a socket was
        accepted is always delivered to it.
        """
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            if self._started is not None:
                await asyncio.shield(self._started)
            return
        self._loop = loop
        self._wake = asyncio.Event()
        self._started = loop.create_future()
        self._task = loop.create_task(self._run(self._started), name="realtime-outbox-relay")
        await asyncio.shield(self._started)

    def wake(self) -> None:
        """Ask the relay to look now (safe to call from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake.set)

    async def stop(self) -> None:
        """Cancel the relay task (tests and shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self, started: asyncio.Future[None]) -> None:
        assert self._wake is not None
        wake = self._wake
        try:
            self._low = await database_sync_to_async(_latest_id)()
        finally:
            if not started.done():
                started.set_result(None)
        self._delivered.clear()
        self._holes.clear()
        bell = conf.bell_path()
        last_mtime = _mtime(bell)
        last_poll = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=conf.get("REALTIME_RELAY_BELL_SECONDS"))
            woken = wake.is_set()
            wake.clear()
            mtime = _mtime(bell)
            now = time.monotonic()
            if not (woken or mtime != last_mtime or self._holes
                    or now - last_poll >= conf.get("REALTIME_RELAY_POLL_SECONDS")):
                continue
            last_mtime, last_poll = mtime, now
            try:
                while await self.deliver_new():
                    pass
            except Exception:
                logger.exception("outbox relay failed; retrying at the next poll")

    async def deliver_new(self) -> bool:
        """Deliver rows not delivered yet; True when a full batch was read (more may wait)."""
        rows = await database_sync_to_async(_rows_after)(self._low)
        layer = get_channel_layer()
        for event_id, group, event_type, frame in rows:
            if event_id in self._delivered:
                continue
            await layer.group_send(group, live_message(event_type=event_type, event_id=event_id, frame=frame))
            self._delivered.add(event_id)
        self._advance()
        return len(rows) == BATCH_SIZE

    def _advance(self) -> None:
        """Move the low-water mark over delivered ids, waiting a while at each hole."""
        now = time.monotonic()
        while self._delivered:
            expected = self._low + 1
            if expected in self._delivered:
                self._delivered.discard(expected)
                self._holes.pop(expected, None)
                self._low = expected
                continue
            first_seen = self._holes.setdefault(expected, now)
            if now - first_seen < conf.get("REALTIME_RELAY_GAP_SECONDS"):
                return
            # The id never committed (rolled back): stop waiting for it.
            self._holes.pop(expected)
            self._low = expected


relay = OutboxRelay()
