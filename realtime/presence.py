"""Lesson presence: how many people are on a lesson page right now, across every web process.

A course stream socket whose page says ``{"type":"lesson.viewing","lesson_id":N}`` (and whose user
the access policy lets read lesson N) holds one entry under the lesson's key in the limiter's
slot store (``academy.ratelimit.store()``: Redis with ``REDIS_URL``, the machine's SQLite file in
the embedded mode), so every process of the site sees every viewer:

- an entry is ``<user id>.<random>``, one per socket: the count is the number of distinct user
  ids among unexpired entries, so two tabs of one person count once, and closing one of them
  keeps the person counted while the other is open;
- an entry expires ``REALTIME_PRESENCE_TTL_SECONDS`` after its last renewal; the process holding
  it renews it every third of that, so the entries of a process that was killed disappear by
  themselves within the TTL, and a surviving process notices the changed count at its next
  renewal and broadcasts it;
- a change (a socket joins or leaves) does not broadcast at once: the first change of a lesson
  schedules one broadcast ``REALTIME_PRESENCE_COALESCE_SECONDS`` later, which reads the count
  then, so a storm of tabs opening and closing costs one frame per lesson per interval and per
  process, never one per change;
- the broadcast goes through the channel layer to the lesson's presence group
  (``groups.lesson_presence``), which only sockets that passed the access check joined; each
  socket forwards a count only when it differs from the last one it sent;
- without a shared layer (the embedded mode's in-process one) a broadcast reaches only its own
  process's sockets, so there each process re-reads the counts of its lessons every
  ``REALTIME_PRESENCE_POLL_SECONDS`` and broadcasts those that changed.

Counts are not stored events: they carry no id, are never replayed on resume, and a client that
reconnects gets the current count after it says which lesson it views again. When the store
cannot be reached the feature goes quiet (no frames) and the page works as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from academy.ratelimit import LimiterUnavailable, store
from realtime import conf, groups

logger = logging.getLogger(__name__)

#: The channel-layer message type (and the frame type) of a lesson's presence count.
PRESENCE_EVENT = "lesson.presence"


def presence_key(lesson_id: int) -> str:
    """The store key of a lesson's viewers."""
    return f"{settings.RATELIMIT_KEY_PREFIX}:presence:lesson:{int(lesson_id)}"


async def _store(method: str, *args: Any) -> Any:
    return await sync_to_async(getattr(store(), method), thread_sensitive=False)(*args)


async def lesson_viewers(lesson_id: int) -> int | None:
    """Distinct users on lesson ``lesson_id`` now, across every process (None: store down)."""
    try:
        members = await _store("slot_members", presence_key(lesson_id))
    except LimiterUnavailable as exc:
        logger.warning("presence store unavailable, lesson %s not counted: %s", lesson_id, exc)
        return None
    return len({member.partition(".")[0] for member in members})


def presence_message(lesson_id: int, viewers: int) -> dict[str, Any]:
    """The channel-layer message telling a lesson's sockets its count."""
    return {"type": PRESENCE_EVENT, "lesson_id": int(lesson_id), "viewers": int(viewers)}


def presence_frame(lesson_id: int, viewers: int) -> dict[str, Any]:
    """The frame a socket sends: ``{"type":"lesson.presence","data":{"lesson_id","viewers"}}``."""
    return {"type": PRESENCE_EVENT, "data": {"lesson_id": int(lesson_id), "viewers": int(viewers)}}


class LessonPresence:
    """This process's side of lesson presence: its sockets' entries, their renewal, and the
    coalesced broadcasts. One per process, bound to the event loop that serves its sockets."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._local: dict[int, set[str]] = {}
        self._pending: dict[int, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._sent: dict[int, int] = {}
        self._renewer: asyncio.Task[None] | None = None

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new loop (a test's, a restarted server in the same process): the old one's
            # timers and tasks are gone with it.
            self._loop = loop
            self._local.clear()
            self._pending.clear()
            self._sending.clear()
            self._sent.clear()
            self._renewer = None
        if self._renewer is None or self._renewer.done():
            self._renewer = loop.create_task(self._renew_forever(), name="realtime-presence-renewal")
        return loop

    async def join(self, *, lesson_id: int, user_id: int) -> str | None:
        """Count ``user_id`` on ``lesson_id`` (one more socket); the entry's id, to :meth:`leave`
        with (None when the store is down: the socket is simply not counted)."""
        self._bind()
        member = f"{int(user_id)}.{uuid.uuid4().hex}"
        try:
            await _store("slot_refresh", presence_key(lesson_id), member, self.ttl)
        except LimiterUnavailable as exc:
            logger.warning("presence store unavailable, socket not counted: %s", exc)
            return None
        self._local.setdefault(lesson_id, set()).add(member)
        self.changed(lesson_id)
        return member

    async def leave(self, *, lesson_id: int, member: str) -> None:
        """One socket left ``lesson_id`` (closed, or moved to another lesson)."""
        members = self._local.get(lesson_id)
        if members is not None:
            members.discard(member)
            if not members:
                del self._local[lesson_id]
        try:
            await _store("slot_release", presence_key(lesson_id), member)
        except LimiterUnavailable as exc:
            logger.warning("presence store unavailable, entry left to expire: %s", exc)
        if self._loop is asyncio.get_running_loop():
            self.changed(lesson_id)

    def changed(self, lesson_id: int) -> None:
        """Broadcast the lesson's count once, after the coalescing interval (a change while one
        is scheduled adds nothing: that broadcast reads the count when it goes)."""
        loop = self._loop
        if loop is None or lesson_id in self._pending:
            return
        self._pending[lesson_id] = loop.call_later(conf.get("REALTIME_PRESENCE_COALESCE_SECONDS"), self._fire, lesson_id)

    @property
    def ttl(self) -> float:
        """Seconds an entry lives without renewal."""
        return float(conf.get("REALTIME_PRESENCE_TTL_SECONDS"))

    def _fire(self, lesson_id: int) -> None:
        task = asyncio.ensure_future(self._broadcast(lesson_id))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _broadcast(self, lesson_id: int) -> None:
        self._pending.pop(lesson_id, None)
        viewers = await lesson_viewers(lesson_id)
        if viewers is None:
            return
        if lesson_id in self._local:
            self._sent[lesson_id] = viewers
        else:
            self._sent.pop(lesson_id, None)
        try:
            await get_channel_layer().group_send(groups.lesson_presence(lesson_id), presence_message(lesson_id, viewers))
        except Exception:
            logger.warning("presence broadcast of lesson %s failed", lesson_id, exc_info=True)

    async def _renew_forever(self) -> None:
        renewed_at = time.monotonic()
        while True:
            # Without a shared channel layer (embedded mode) another web process's broadcasts
            # never reach this one's sockets: its counts are re-read more often instead.
            every = self.ttl / 3
            if conf.uses_relay():
                every = min(every, float(conf.get("REALTIME_PRESENCE_POLL_SECONDS")))
            await asyncio.sleep(every)
            renew = time.monotonic() - renewed_at >= self.ttl / 3 - every / 2
            if renew:
                renewed_at = time.monotonic()
            with contextlib.suppress(LimiterUnavailable):
                await self.renew(entries=renew)

    async def renew(self, *, entries: bool = True) -> None:
        """Renew this process's entries (unless ``entries`` is False), and broadcast the count
        of each of its lessons that changed without a join or leave here (another process's
        sockets came, left or expired)."""
        for lesson_id, members in list(self._local.items()):
            if entries:
                for member in list(members):
                    await _store("slot_refresh", presence_key(lesson_id), member, self.ttl)
            viewers = await lesson_viewers(lesson_id)
            if viewers is not None and viewers != self._sent.get(lesson_id):
                self.changed(lesson_id)


presence = LessonPresence()
