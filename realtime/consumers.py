"""WebSocket consumers: /ws/progress/, /ws/notifications/, /ws/courses/<course_page_id>/ (with the
presence count of the lesson its page views: ``realtime.presence``) and the staff's
/ws/staff/courses/<course_page_id>/.

Thin: authorisation in ``connect()``, reads through ``database_sync_to_async``. Every socket
listens to its stream's groups, to its login session's group (closed on logout) and to its
user's group (closed when all of the user's sessions end: password change, deactivation,
"log out everywhere").

Delivery per connection is exactly once and in order:
- until the client's first ``{"type":"resume","since":N}`` (or a short wait for it) live frames
  are held back, so the replay of stored events after N comes first and in id order;
- ids sent on this connection, and ids at or below the client's ``since``, are never sent again,
  so an event both replayed and received live reaches the client once.

Streams of many courses (the learner's progress stream) send an event about a course, replayed
or live, only while the access policy lets the user read that course (``learning.access`` via
``selectors.readable_courses``): a cancelled enrollment's history is not replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from academy.ratelimit import SocketSlot
from learning import services as learning_services
from learning import tokens
from realtime import conf, groups, selectors
from realtime.presence import presence, presence_frame
from realtime.relay import relay
from realtime.tickets import CREDENTIAL_SCOPE_KEY

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429

# Apps of core's own event types (``<app>.<event>``): never a plugin's, never switched off.
CORE_EVENT_APPS = frozenset({"progress", "enrollment", "notification", "course", "lesson", "class", "session"})
# Live frames held back while waiting for the first resume; older ones are dropped (the resume
# replays them from the outbox anyway).
MAX_HELD_FRAMES = 1000
# Ids remembered per connection to suppress duplicates; older ids fall below the floor.
MAX_REMEMBERED_IDS = 2048


class LiveConsumer(AsyncWebsocketConsumer):
    """Shared behaviour of the live streams; subclasses name their groups and access rule."""

    #: The stream carries events of many courses (the learner's own streams): each event about a
    #: course is sent, replayed or live, only while the access policy lets the user read that
    #: course. Streams of one course decide that once, in ``authorize``.
    course_scoped: bool = False

    # --- what subclasses define -------------------------------------------------------------

    def stream_groups(self, user: Any) -> list[str]:
        """The groups this stream listens to (its stored events are replayed on resume)."""
        raise NotImplementedError

    def control_groups(self, user: Any) -> list[str]:
        """Groups that only carry control messages for this socket (never resumed)."""
        return []

    async def authorize(self, user: Any) -> int:
        """0 when ``user`` may open this stream, otherwise the close code."""
        return 0

    def stream_course_id(self) -> int | None:
        """The one course this stream is about (None for a stream of many)."""
        return None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Call the handler of ``message`` (Channels' dispatch without its per-message DB hop).

        Channels closes stale database connections before every message, a hop to the single
        sync thread that a fan-out to hundreds of sockets then waits on in turn. Every database
        access here goes through ``database_sync_to_async``, which does that itself.

        A stored event (``id`` and ``frame``, from ``realtime.publish``) of a type this stream
        has no handler for (a plugin's, e.g. ``certificates.issued`` on the progress stream) is
        forwarded like core's: what was published to the stream's groups reaches the socket, and
        the resume replay already sends every stored type.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None and "id" in message and "frame" in message:
            handler = self.forward
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        """Authenticate, authorise, join the groups, accept; or accept and close with a 44xx code."""
        self.joined: list[str] = []
        self.closing = False
        self.live = False
        self.held: list[dict[str, Any]] = []
        self.floor = 0
        self.sent_ids: set[int] = set()
        self.sent_order: deque[int] = deque()
        self.lock = asyncio.Lock()
        self.tokens = float(conf.get("REALTIME_CLIENT_BURST"))
        self.tokens_at = time.monotonic()
        self.refused = 0
        self.limited_notice = False
        self.go_live_task: asyncio.Task[None] | None = None
        self.go_live_timer: asyncio.TimerHandle | None = None
        self.socket_slot: SocketSlot | None = None
        # Course-scoped streams: the policy's last answers per course (refreshed with the session).
        self.readable_courses: set[int] = set()
        self.refused_courses: set[int] = set()

        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        code = await self.authorize(user)
        if code:
            await self.refuse(code)
            return
        self.user = user
        # The credential the socket lives as long as: the login session of the cookie, or the
        # token or session a ticket was made for (realtime.tickets).
        credential = self.scope.get(CREDENTIAL_SCOPE_KEY)
        self.application_id: int | None = None
        if credential is not None:
            self.session_key, self.token_id = credential.session_key, credential.token_id
            self.application_id = credential.application_id
        else:
            self.session_key = getattr(self.scope.get("session"), "session_key", None)
            self.token_id = None
        if not self.session_key and self.token_id is None and self.application_id is None:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        # At most RATELIMIT_SOCKETS_PER_USER open sockets per user, across processes.
        self.socket_slot = await SocketSlot.acquire(user.pk)
        if self.socket_slot is None:
            await self.refuse(CLOSE_RATE_LIMITED)
            return
        self.session_checked_at = time.monotonic()
        self.joined = [
            *self.stream_groups(user),
            *([groups.session(self.session_key)] if self.session_key else []),
            groups.user_sessions(user.pk),
            *self.control_groups(user),
        ]
        if conf.uses_relay():
            await relay.ensure_running()
        await self.join_groups()
        await self.accept()
        self.go_live_timer = asyncio.get_running_loop().call_later(
            conf.get("REALTIME_RESUME_WAIT_SECONDS"), self._go_live_soon
        )

    def credential_is_current(self) -> bool:
        """Whether the socket's login session, or its ticket's token or app authorisation, is
        still valid (sync)."""
        if self.token_id is not None:
            return tokens.token_is_current(token_id=self.token_id, user=self.user)
        if self.application_id is not None:
            return tokens.authorization_is_current(application_id=self.application_id, user=self.user)
        return selectors.session_is_current(session_key=self.session_key, user=self.user)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Channels' connect; a connect that fails after taking a socket slot gives it back."""
        try:
            await super().websocket_connect(message)
        except BaseException:
            slot = getattr(self, "socket_slot", None)
            if slot is not None:
                await slot.release()
            raise

    async def refuse(self, code: int) -> None:
        """Accept only to close with ``code`` (a refused handshake cannot carry a close code)."""
        self.closing = True
        # With the handshake's request id (academy.logging.RequestIdASGIMiddleware).
        logger.info("websocket %s refused with %s", self.scope.get("path"), code)
        await self.accept()
        await self.close(code=code)

    async def join_groups(self) -> None:
        """(Re-)join every group; membership expires after channels_redis' group_expiry."""
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined_at = time.monotonic()

    async def disconnect(self, code: int) -> None:
        """Leave the groups and stop the resume timer."""
        self.closing = True
        if self.go_live_timer is not None:
            self.go_live_timer.cancel()
        if self.socket_slot is not None:
            await self.socket_slot.release()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def close_with(self, code: int) -> None:
        """Close once with ``code``; nothing more is sent on this socket."""
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    # --- client frames --------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Handle ``ping`` and ``resume``; anything else gets an error frame, never a crash."""
        if self.closing or not await self.take_token():
            return
        if text_data is None:
            await self.send_error("unsupported", "Binary frames are not supported; send JSON text.")
            return
        max_bytes = int(conf.get("REALTIME_MAX_CLIENT_FRAME_BYTES"))
        if len(text_data) > max_bytes or len(text_data.encode()) > max_bytes:
            await self.send_error("too_large", f"Frames are limited to {max_bytes} bytes.")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: deep nesting (4,000 "[" fit in a frame) exhausts the parser's
            # recursion limit; it is a malformed frame like any other, not a dropped connection.
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.send_error("malformed", 'Send a JSON object with a "type", e.g. {"type":"ping"}.')
            return
        if message["type"] == "ping":
            await self.send(text_data='{"type":"pong"}')
            if time.monotonic() - self.groups_joined_at > conf.get("REALTIME_GROUP_REFRESH_SECONDS"):
                await self.join_groups()
        elif message["type"] == "resume":
            since = message.get("since")
            if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
                await self.send_error("invalid", '"since" must be a non-negative integer id or null.')
                return
            await self.resume(since)
        elif not await self.handle_frame(message):
            await self.send_error("unknown_type", 'Known frame types: "ping", "resume".')

    async def handle_frame(self, message: dict[str, Any]) -> bool:
        """A stream's own client frame types (beyond ``ping`` and ``resume``): True when handled."""
        return False

    async def take_token(self) -> bool:
        """Per-connection token bucket; a flood gets one error frame, then a close (4429)."""
        now = time.monotonic()
        burst = float(conf.get("REALTIME_CLIENT_BURST"))
        self.tokens = min(burst, self.tokens + (now - self.tokens_at) * conf.get("REALTIME_CLIENT_RATE_PER_SECOND"))
        self.tokens_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.limited_notice = False
            return True
        self.refused += 1
        if self.refused > conf.get("REALTIME_CLIENT_MAX_REFUSED"):
            await self.close_with(CLOSE_RATE_LIMITED)
        elif not self.limited_notice:
            self.limited_notice = True
            await self.send_error("rate_limited", "Too many frames; slow down.")
        return False

    async def send_error(self, code: str, message: str) -> None:
        """An error frame: ``{"type":"error","data":{"code","message"}}``; the socket stays open."""
        await self.send(text_data=json.dumps({"type": "error", "data": {"code": code, "message": message}}))

    # --- replay ---------------------------------------------------------------------------------

    async def resume(self, since: int | None) -> None:
        """Replay stored events after ``since`` not yet sent here, then release held live frames."""
        async with self.lock:
            replayed = 0
            limit = int(conf.get("REALTIME_REPLAY_LIMIT"))
            if since is not None:
                # Access may have ended since the handshake (a view restriction, a cancellation
                # seen by another process): the policy is asked again before any replay.
                code = await self.authorize(self.user)
                if code:
                    await self.close_with(code)
                    return
                self.floor = max(self.floor, since)
                first_id, last_id = await database_sync_to_async(selectors.outbox_bounds)()
                replay = await database_sync_to_async(selectors.replay_after)(
                    groups=self.stream_groups(self.user), since=since, limit=limit,
                    user=self.user if self.course_scoped else None, session=self.scope.get("session"),
                    course_id=self.stream_course_id(),
                )
                self.readable_courses |= replay.readable
                self.readable_courses -= replay.refused
                self.refused_courses = (self.refused_courses | replay.refused) - replay.readable
                rows = replay.events
                if (since and first_id > since + 1) or replay.truncated:
                    # Pruned or too far behind: the client reloads its state instead.
                    self.floor = max(self.floor, last_id)
                    await self.send(text_data=json.dumps({"type": "resync", "data": {"last_id": last_id}}))
                    rows = []
                for event_id, frame in rows:
                    if event_id not in self.sent_ids and await self.frame_allowed(frame):
                        self.remember(event_id)
                        await self.send(text_data=frame)
                        replayed += 1
            await self.release_held()
            await self.send(
                text_data=json.dumps({"type": "resumed", "data": {"since": since, "replayed": replayed}})
            )

    def _go_live_soon(self) -> None:
        # No resume arrived in time: deliver live frames anyway (clients that never resume).
        self.go_live_task = asyncio.ensure_future(self._go_live())

    async def _go_live(self) -> None:
        async with self.lock:
            await self.release_held()

    async def release_held(self) -> None:
        """Send held live frames in id order (skipping ones already sent), then go live."""
        if self.go_live_timer is not None:
            self.go_live_timer.cancel()
        while self.held and not self.closing:
            self.held.sort(key=lambda item: item["id"])
            await self.deliver(self.held.pop(0))
        self.live = True

    def remember(self, event_id: int) -> None:
        """Record an id as sent on this connection (bounded; old ids fall below the floor)."""
        self.sent_ids.add(event_id)
        self.sent_order.append(event_id)
        if len(self.sent_order) > MAX_REMEMBERED_IDS:
            old = self.sent_order.popleft()
            self.sent_ids.discard(old)
            self.floor = max(self.floor, old)

    # --- live events from the channel layer -------------------------------------------------------

    async def forward(self, message: dict[str, Any]) -> None:
        """A live event from the group: send it now, or hold it until the replay is done."""
        if self.closing:
            return
        if not self.live:
            self.held.append(message)
            if len(self.held) > MAX_HELD_FRAMES:
                self.held.pop(0)
            return
        await self.deliver(message)

    async def deliver(self, message: dict[str, Any]) -> None:
        """Send one stored event unless this connection already has it; re-check the session."""
        event_id = message["id"]
        if event_id <= self.floor or event_id in self.sent_ids or self.closing:
            return
        if time.monotonic() - self.session_checked_at >= conf.get("REALTIME_SESSION_RECHECK_SECONDS"):
            current = await database_sync_to_async(self.credential_is_current)()
            self.session_checked_at = time.monotonic()
            if not current:
                await self.close_with(CLOSE_UNAUTHENTICATED)
                return
            code = await self.authorize(self.user)
            if code:
                await self.close_with(code)
                return
            # Ask the policy again about every course from now on.
            self.readable_courses.clear()
            self.refused_courses.clear()
            self.forget_frame_verdicts()
        if self.course_scoped and not await self.may_read_course_of(message["frame"]):
            return
        if await self.switched_off(message):
            return
        if not await self.frame_allowed(message["frame"]):
            return
        self.remember(event_id)
        await self.send(text_data=message["frame"])

    async def frame_allowed(self, frame: str) -> bool:
        """Whether this connection may receive ``frame`` beyond its stream's own check (a
        stream whose frames are about single learners narrows them here; all by default)."""
        return True

    def forget_frame_verdicts(self) -> None:
        """Ask :meth:`frame_allowed`'s questions again from now on (after a session check)."""

    async def switched_off(self, message: dict[str, Any]) -> bool:
        """Whether a live event comes from a plugin switched off for its course (core's events
        never do, and cost no check)."""
        app = str(message.get("type", "")).partition(".")[0]
        if app in CORE_EVENT_APPS:
            return False
        course_id = selectors.live_frame_course_id(message["frame"]) or self.stream_course_id()
        return bool(await database_sync_to_async(selectors.frame_switched_off)(str(message["type"]), course_id))

    async def may_read_course_of(self, frame: str) -> bool:
        """Whether the user may read the course ``frame`` is about (True for none): the access
        policy's answer, remembered until the next session check."""
        course_id = selectors.live_frame_course_id(frame)
        if course_id is None or course_id in self.readable_courses:
            return True
        if course_id not in self.refused_courses:
            readable = await database_sync_to_async(selectors.readable_courses)(
                user=self.user, course_ids=[course_id], session=self.scope.get("session")
            )
            (self.readable_courses if course_id in readable else self.refused_courses).add(course_id)
        return course_id in self.readable_courses

    async def session_ended(self, message: dict[str, Any]) -> None:
        """The login session logged out, or every session of the user ended (password change,
        deactivation, "log out everywhere"): close the socket at once."""
        await self.close_with(CLOSE_UNAUTHENTICATED)


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any WebSocket path without a stream: accept only to close with 4404.

    Without it Channels' URLRouter raises for an unknown path, which the ASGI server answers
    with an HTTP 500 and logs as an application error with its traceback.
    """

    async def connect(self) -> None:
        """Accept, then close with ``CLOSE_NOT_FOUND`` (a refused handshake carries no code)."""
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class ProgressConsumer(LiveConsumer):
    """/ws/progress/: the learner's progress.updated and enrollment.activated events (and the
    plugins', e.g. certificates.issued), each only while the learner may read its course."""

    course_scoped = True

    def stream_groups(self, user: Any) -> list[str]:
        """The learner's progress group."""
        return [groups.user_progress(user.pk)]

    async def handle_frame(self, message: dict[str, Any]) -> bool:
        """``{"type":"lesson.opened","lesson_id":N}`` from a lesson page: the learner is on that
        lesson now (``learning.services.lesson_opened``, rate-limited there); a refusal (not
        enrolled, no such lesson) is the page's to show and sends nothing here."""
        if message["type"] != "lesson.opened":
            return False
        lesson_id = message.get("lesson_id")
        if isinstance(lesson_id, bool) or not isinstance(lesson_id, int) or not 0 < lesson_id < 2**63:
            await self.send_error("invalid", '"lesson_id" must be a lesson\'s id.')
            return True
        await database_sync_to_async(_lesson_opened)(self.scope["user"], lesson_id, self.scope.get("session"))
        return True

    async def progress_updated(self, message: dict[str, Any]) -> None:
        """progress.updated -> the socket."""
        await self.forward(message)

    async def enrollment_activated(self, message: dict[str, Any]) -> None:
        """enrollment.activated -> the socket."""
        await self.forward(message)


def _lesson_opened(user: Any, lesson_id: int, session: Any) -> None:
    try:
        learning_services.lesson_opened(user=user, lesson=lesson_id, session=session)
    except learning_services.ServiceError as exc:
        logger.debug("lesson.opened of lesson %s by user %s not recorded: %s", lesson_id, user.pk, exc.message)


class NotificationsConsumer(LiveConsumer):
    """/ws/notifications/: the learner's notification.created and notification.read events."""

    def stream_groups(self, user: Any) -> list[str]:
        """The learner's notification group."""
        return [groups.user_notifications(user.pk)]

    async def notification_created(self, message: dict[str, Any]) -> None:
        """notification.created -> the socket."""
        await self.forward(message)

    async def notification_read(self, message: dict[str, Any]) -> None:
        """notification.read -> the socket."""
        await self.forward(message)


class CourseConsumer(LiveConsumer):
    """/ws/courses/<course_page_id>/: course.updated and lesson.published of one course, and the
    presence count of the lesson the page views (``lesson.viewing`` -> ``lesson.presence``)."""

    async def connect(self) -> None:
        """As every stream; the socket views no lesson until its page says which."""
        # (lesson id, store entry or None when the store was down) of the lesson viewed.
        self.viewing: tuple[int, str | None] | None = None
        self.presence_sent: int | None = None
        self.presence_lock = asyncio.Lock()
        await super().connect()

    async def disconnect(self, code: int) -> None:
        """Leave the groups, and stop counting this socket on its lesson at once."""
        await super().disconnect(code)
        async with self.presence_lock:
            await self.stop_viewing()

    async def handle_frame(self, message: dict[str, Any]) -> bool:
        """``{"type":"lesson.viewing","lesson_id":N}`` from a lesson page: count this socket's
        user on lesson N and send the page ``lesson.presence`` counts (``realtime.presence``)
        while it stays there; ``"lesson_id": null`` stops. Only for a reader of that lesson of
        this course: anyone else gets an error frame and no count, and is not counted."""
        if message["type"] != "lesson.viewing":
            return False
        lesson_id = message.get("lesson_id")
        if lesson_id is not None and (isinstance(lesson_id, bool) or not isinstance(lesson_id, int) or not 0 < lesson_id < 2**63):
            await self.send_error("invalid", '"lesson_id" must be a lesson\'s id, or null.')
            return True
        async with self.presence_lock:
            if self.viewing is not None and self.viewing[0] == lesson_id:
                return True
            await self.stop_viewing()
            if lesson_id is None:
                return True
            allowed = await database_sync_to_async(selectors.lesson_presence_access)(
                user=self.user, course_id=self.stream_course_id(), lesson_id=lesson_id, session=self.scope.get("session"),
            )
            if not allowed or self.closing:
                if not self.closing:
                    await self.send_error("forbidden", "No such lesson of this course that you may read.")
                return True
            group = groups.lesson_presence(lesson_id)
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)  # re-joined with the others on ping (group expiry)
            self.viewing = (lesson_id, await presence.join(lesson_id=lesson_id, user_id=self.user.pk))
        return True

    async def stop_viewing(self) -> None:
        """Leave the viewed lesson's presence group and count (nothing when viewing none)."""
        if self.viewing is None:
            return
        lesson_id, member = self.viewing
        self.viewing, self.presence_sent = None, None
        group = groups.lesson_presence(lesson_id)
        if group in self.joined:
            self.joined.remove(group)
        await self.channel_layer.group_discard(group, self.channel_name)
        if member is not None:
            await presence.leave(lesson_id=lesson_id, member=member)

    async def lesson_presence(self, message: dict[str, Any]) -> None:
        """A lesson's count -> the socket, when it views that lesson and the count changed."""
        viewing = self.viewing
        if self.closing or viewing is None or message.get("lesson_id") != viewing[0]:
            return
        viewers = int(message["viewers"])
        if viewers == self.presence_sent:
            return
        self.presence_sent = viewers
        await self.send(text_data=json.dumps(presence_frame(viewing[0], viewers)))

    def stream_course_id(self) -> int | None:
        """The course of the URL."""
        return int(self.scope["url_route"]["kwargs"]["course_id"])

    def stream_groups(self, user: Any) -> list[str]:
        """The course's group."""
        return [groups.course(self.scope["url_route"]["kwargs"]["course_id"])]

    async def authorize(self, user: Any) -> int:
        """Whoever the access policy lets read the course's lessons (enrolled learners, staff and
        editors, within Wagtail's view restrictions and the session's passed passwords)."""
        course_id = self.scope["url_route"]["kwargs"]["course_id"]
        return await database_sync_to_async(selectors.course_stream_access)(
            user=user, course_id=course_id, session=self.scope.get("session")
        )

    def control_groups(self, user: Any) -> list[str]:
        """The learner's membership group of this course: closed when the enrollment ends."""
        return [groups.course_member(self.scope["url_route"]["kwargs"]["course_id"], user.pk)]

    async def course_access_revoked(self, message: dict[str, Any]) -> None:
        """The learner's enrollment was cancelled: this stream is no longer theirs."""
        await self.close_with(CLOSE_FORBIDDEN)

    async def course_updated(self, message: dict[str, Any]) -> None:
        """course.updated -> the socket."""
        await self.forward(message)

    async def lesson_published(self, message: dict[str, Any]) -> None:
        """lesson.published -> the socket."""
        await self.forward(message)


class CourseStaffConsumer(LiveConsumer):
    """/ws/staff/courses/<course_page_id>/: the live class view's class.activity events, for the
    course's staff only (``learning.access.may_see_learners``); everyone else is closed with 4403
    (4404 for an unknown course), like the other streams."""

    def stream_course_id(self) -> int | None:
        """The course of the URL."""
        return int(self.scope["url_route"]["kwargs"]["course_id"])

    def stream_groups(self, user: Any) -> list[str]:
        """The course's staff group."""
        return [groups.course_staff(self.scope["url_route"]["kwargs"]["course_id"])]

    async def authorize(self, user: Any) -> int:
        """Staff of this course (Wagtail page permissions on it), superusers; never through a
        ticket made with an app's or a service token (no scope grants the live class view)."""
        credential = self.scope.get(CREDENTIAL_SCOPE_KEY)
        if credential is not None and await database_sync_to_async(tokens.credential_is_scoped)(
            token_id=credential.token_id, application_id=credential.application_id
        ):
            return CLOSE_FORBIDDEN
        course_id = self.scope["url_route"]["kwargs"]["course_id"]
        return await database_sync_to_async(selectors.course_staff_stream_access)(user=user, course_id=course_id)

    async def class_activity(self, message: dict[str, Any]) -> None:
        """class.activity -> the socket."""
        await self.forward(message)

    async def frame_allowed(self, frame: str) -> bool:
        """A teacher or assistant of some cohorts gets the frames about their cohorts' learners
        only, and a view of one cohort (``?cohort=<id>`` on the stream's URL) that cohort's
        (``selectors.staff_sees_learner``, remembered per learner until the next session check);
        whoever sees every learner of the course, every frame, after one query."""
        verdicts: dict[int | None, bool] = self.__dict__.setdefault("learner_verdicts", {})
        learner_id = selectors.frame_learner_id(frame)
        if learner_id is None:
            return True
        course_id = int(self.scope["url_route"]["kwargs"]["course_id"])
        cohort_id = selectors.query_cohort_id(self.scope.get("query_string", b""))
        if None not in verdicts:  # None: "sees every learner of the course, no cohort chosen"
            verdicts[None] = cohort_id is None and await database_sync_to_async(selectors.staff_sees_every_learner)(
                user=self.user, course_id=course_id,
            )
        if verdicts[None]:
            return True
        if learner_id not in verdicts:
            verdicts[learner_id] = await database_sync_to_async(selectors.staff_sees_learner)(
                user=self.user, course_id=course_id, learner_id=learner_id, cohort_id=cohort_id,
            )
        return verdicts[learner_id]

    def forget_frame_verdicts(self) -> None:
        """A session check: ask about each learner again."""
        self.__dict__.pop("learner_verdicts", None)
