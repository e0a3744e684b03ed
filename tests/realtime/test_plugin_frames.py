"""A plugin's live frames follow its activation: a course socket neither replays nor forwards the
frames of a plugin switched off for that course (per course: on in one course, off in another),
and the progress stream drops them for the course they are about. Through the project's ASGI
application, on the embedded layer and on channels_redis."""

from __future__ import annotations

import pytest

from academy.plugins import activation
from realtime import groups
from realtime.publish import publish
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import adb, communicator, receive_event, resume, run

pytestmark = pytest.mark.usefixtures("layer")

# A first-party plugin installed in every test run; its label is the frames' type prefix.
PLUGIN = "certificates"


def _publish_course_frames(world: World) -> None:
    """What a plugin's live update does: a frame on each course's stream (as a rating would)."""
    for course in (world.site.course, world.site.other_course):
        publish(group=groups.course(course.pk), event_type=f"{PLUGIN}.noted", data={"course_id": course.pk})


def test_the_course_socket_does_not_replay_a_switched_off_plugins_frames(world: World) -> None:
    async def scenario() -> None:
        since = await adb(latest_event_id)()
        await adb(_publish_course_frames)(world)
        await adb(activation.set_state)(PLUGIN, "off", course_id=world.site.course.pk)

        comm = communicator(f"/ws/courses/{world.site.course.pk}/", world.learner_session)
        assert (await comm.connect())[0] is True
        frames = await resume(comm, since)
        assert [frame["type"] for frame in frames] == ["resumed"]
        assert frames[-1]["data"] == {"since": since, "replayed": 0}
        await comm.disconnect()

        # On for the other course: its learner gets the frame there.
        other = communicator(f"/ws/courses/{world.site.other_course.pk}/", world.other_session)
        assert (await other.connect())[0] is True
        frames = await resume(other, since)
        assert [(frame["type"], frame.get("data")) for frame in frames] == [
            (f"{PLUGIN}.noted", {"course_id": world.site.other_course.pk}),
            ("resumed", {"since": since, "replayed": 1}),
        ]
        await other.disconnect()

        # Switched on again: the stored frame comes back (its data was kept).
        await adb(activation.set_state)(PLUGIN, None, course_id=world.site.course.pk)
        comm = communicator(f"/ws/courses/{world.site.course.pk}/", world.learner_session)
        await comm.connect()
        frames = await resume(comm, since)
        assert [frame["type"] for frame in frames] == [f"{PLUGIN}.noted", "resumed"]
        await comm.disconnect()

    run(scenario)


def test_a_live_frame_of_a_plugin_switched_off_for_the_course_is_not_sent(world: World) -> None:
    async def scenario() -> None:
        await adb(activation.set_state)(PLUGIN, "off", course_id=world.site.course.pk)
        comm = communicator(f"/ws/courses/{world.site.course.pk}/", world.learner_session)
        assert (await comm.connect())[0] is True
        await resume(comm, await adb(latest_event_id)())
        await adb(_publish_course_frames)(world)
        await adb(publish)(
            group=groups.course(world.site.course.pk), event_type="course.updated",
            data={"course_id": world.site.course.pk, "title": "Python"},
        )
        # Core's frame arrives; the plugin's, published before it, never does.
        frame = await receive_event(comm)
        assert frame["type"] == "course.updated"
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)


def test_the_progress_stream_drops_a_plugins_frames_where_it_is_switched_off_site_wide(world: World) -> None:
    async def scenario() -> None:
        since = await adb(latest_event_id)()
        await adb(publish)(
            group=groups.user_progress(world.learner.pk), event_type=f"{PLUGIN}.issued",
            data={"course_id": world.site.course.pk},
        )
        await adb(activation.set_state)(PLUGIN, "off")
        comm = communicator("/ws/progress/", world.learner_session)
        assert (await comm.connect())[0] is True
        frames = await resume(comm, since)
        assert [frame["type"] for frame in frames] == ["resumed"]
        await comm.disconnect()

    run(scenario)
