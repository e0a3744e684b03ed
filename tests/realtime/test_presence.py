"""Lesson presence on the course stream: ``lesson.viewing`` -> ``lesson.presence`` counts of
distinct people (not tabs), across processes through the shared slot store, coalesced, and only
for readers of the lesson. On the embedded layer and, marked ``redis``, on channels_redis."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from academy.ratelimit import store
from realtime.presence import presence, presence_key
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import adb, communicator, receive, receive_close, resume, run

pytestmark = pytest.mark.usefixtures("layer")


@pytest.fixture(autouse=True)
def _quick_presence(settings: Any) -> None:
    """Coalesce over a short interval (the tests wait for frames, never for a wall clock)."""
    settings.REALTIME_PRESENCE_COALESCE_SECONDS = 0.05


async def _on_lesson(world: World, session: str, lesson: Any) -> WebsocketCommunicator:
    """A course stream socket of ``session`` whose page views ``lesson``."""
    comm = communicator(f"/ws/courses/{world.site.course.pk}/", session)
    assert (await comm.connect())[0] is True
    await resume(comm, await adb(latest_event_id)())
    await comm.send_json_to({"type": "lesson.viewing", "lesson_id": lesson.pk})
    return comm


async def _presence(comm: WebsocketCommunicator) -> dict[str, Any]:
    """The next lesson.presence frame (fails on any other frame but pong)."""
    while True:
        frame = await receive(comm)
        if frame["type"] != "pong":
            assert frame["type"] == "lesson.presence", frame
            return frame


def _count(lesson: Any, viewers: int) -> dict[str, Any]:
    return {"type": "lesson.presence", "data": {"lesson_id": lesson.pk, "viewers": viewers}}


def test_two_people_and_two_tabs_of_one_are_counted_as_two(world: World) -> None:
    lesson = world.site.lessons[0]

    async def scenario() -> None:
        ada_tab1 = await _on_lesson(world, world.learner_session, lesson)
        assert await _presence(ada_tab1) == _count(lesson, 1)
        ada_tab2 = await _on_lesson(world, world.learner_session, lesson)
        assert await _presence(ada_tab2) == _count(lesson, 1)
        staff = await _on_lesson(world, world.staff_session, lesson)
        assert [await _presence(c) for c in (ada_tab1, ada_tab2, staff)] == [_count(lesson, 2)] * 3
        # Closing one of Ada's tabs leaves her on the lesson: the count does not move, no frame.
        await ada_tab2.disconnect()
        assert await staff.receive_nothing(timeout=0.3) is True
        assert await ada_tab1.receive_nothing(timeout=0.01) is True
        # Her last tab goes: the staff member is alone.
        await ada_tab1.disconnect()
        assert await _presence(staff) == _count(lesson, 1)
        # Moving to another lesson leaves this one's count (and its frames) behind.
        await staff.send_json_to({"type": "lesson.viewing", "lesson_id": world.site.lessons[1].pk})
        assert await _presence(staff) == _count(world.site.lessons[1], 1)
        assert await adb(store().slot_members)(presence_key(lesson.pk)) == []
        await staff.disconnect()

    run(scenario)


def test_a_storm_of_tabs_is_one_frame(world: World, settings: Any) -> None:
    lesson = world.site.lessons[0]
    settings.REALTIME_PRESENCE_COALESCE_SECONDS = 2.0

    async def scenario() -> None:
        staff = await _on_lesson(world, world.staff_session, lesson)
        assert await _presence(staff) == _count(lesson, 1)
        # Ten joins and leaves of Ada's tabs within the interval, ending with one open.
        for _ in range(5):
            member = await presence.join(lesson_id=lesson.pk, user_id=world.learner.pk)
            assert member is not None
            await presence.leave(lesson_id=lesson.pk, member=member)
        kept = await presence.join(lesson_id=lesson.pk, user_id=world.learner.pk)
        assert await _presence(staff) == _count(lesson, 2)
        assert await staff.receive_nothing(timeout=0.5) is True
        assert kept is not None
        await presence.leave(lesson_id=lesson.pk, member=kept)
        await staff.disconnect()

    run(scenario)


def test_a_killed_process_viewers_expire_and_the_count_drops(world: World, settings: Any) -> None:
    lesson = world.site.lessons[0]
    settings.REALTIME_PRESENCE_TTL_SECONDS = 0.6  # renewed every 0.2 s

    async def scenario() -> None:
        staff = await _on_lesson(world, world.staff_session, lesson)
        assert await _presence(staff) == _count(lesson, 1)
        # Another process's socket of Ada: its entry, which that process (killed) never renews.
        await adb(store().slot_refresh)(presence_key(lesson.pk), f"{world.learner.pk}.elsewhere", 0.6)
        assert await _presence(staff) == _count(lesson, 2)
        assert await _presence(staff) == _count(lesson, 1)
        await staff.disconnect()

    run(scenario)


def test_only_readers_of_the_lesson_are_counted_and_see_counts(world: World) -> None:
    lesson = world.site.lessons[0]
    rust_lesson_id = world.site.other_course.get_children().first().pk

    async def scenario() -> None:
        ada = await _on_lesson(world, world.learner_session, lesson)
        assert await _presence(ada) == _count(lesson, 1)
        # Bob is enrolled in the Rust course only: Python's stream refuses him outright...
        refused = communicator(f"/ws/courses/{world.site.course.pk}/", world.other_session)
        await refused.connect()
        assert await receive_close(refused) == 4403
        # ...and his own course's stream will not count him on a Python lesson.
        bob = communicator(f"/ws/courses/{world.site.other_course.pk}/", world.other_session)
        assert (await bob.connect())[0] is True
        await resume(bob, await adb(latest_event_id)())
        await bob.send_json_to({"type": "lesson.viewing", "lesson_id": lesson.pk})
        assert await receive(bob) == {
            "type": "error", "data": {"code": "forbidden", "message": "No such lesson of this course that you may read."},
        }
        await bob.send_json_to({"type": "lesson.viewing", "lesson_id": "x"})
        assert (await receive(bob))["data"]["code"] == "invalid"
        assert await ada.receive_nothing(timeout=0.3) is True
        assert await adb(store().slot_members)(presence_key(lesson.pk)) != []
        # On his own lesson he is counted there, alone; Ada's lesson never hears of him.
        await bob.send_json_to({"type": "lesson.viewing", "lesson_id": rust_lesson_id})
        assert await _presence(bob) == {"type": "lesson.presence", "data": {"lesson_id": rust_lesson_id, "viewers": 1}}
        assert await ada.receive_nothing(timeout=0.3) is True
        # Anonymous visitors get no stream at all.
        anonymous = communicator(f"/ws/courses/{world.site.course.pk}/")
        await anonymous.connect()
        assert await receive_close(anonymous) == 4401
        await bob.disconnect()
        await ada.disconnect()

    run(scenario)
