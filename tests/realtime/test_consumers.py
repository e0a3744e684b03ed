"""The WebSocket consumers through the project's ASGI application (origin check, session auth),
on the embedded in-process layer with the outbox relay and, marked ``redis``, on channels_redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from wagtail.models import Page

from courses.models import LessonPage
from learning import services
from learning.selectors import unread_notification_count
from realtime import groups
from realtime.models import Event
from realtime.publish import publish
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import (
    adb,
    communicator,
    login_cookie,
    make_user,
    receive,
    receive_close,
    receive_event,
    resume,
    run,
)

pytestmark = pytest.mark.usefixtures("layer")


def _publish_progress(user_id: int, n: int) -> Event:
    return publish(group=groups.user_progress(user_id), event_type="progress.updated", data={"n": n})


# --- events pushed, exact payloads -------------------------------------------------------------


def test_progress_stream_lesson_completed_pushes_progress_updated(world: World) -> None:
    lesson1, lesson2 = world.site.lessons[0], world.site.lessons[1]

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        assert (await comm.connect())[0] is True
        since = await adb(latest_event_id)()
        assert await resume(comm, since) == [{"type": "resumed", "data": {"since": since, "replayed": 0}}]
        await adb(services.lesson_progress_record)(user=world.learner, lesson=lesson1)
        frame = await receive_event(comm)
        assert frame == {
            "type": "progress.updated",
            "id": since + 1,
            "data": {
                "course_id": world.site.course.pk,
                "lesson_id": lesson1.pk,
                "completed_lessons": 1,
                "total_lessons": 3,
                "percent": 33,
                "next_lesson": {"id": lesson2.pk, "title": "Lesson 2", "url": "/courses/python/lesson-2/"},
                "resume_lesson": {"id": lesson2.pk, "title": "Lesson 2", "url": "/courses/python/lesson-2/"},
                "status": "active",
                "status_label": "Active",
                "course_completed": False,
            },
        }
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)


def test_progress_stream_last_lesson_reports_course_completed(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        await resume(comm, await adb(latest_event_id)())
        for lesson in world.site.lessons:
            await adb(services.lesson_progress_record)(user=world.learner, lesson=lesson)
        frames = [await receive_event(comm) for _ in world.site.lessons]
        assert [(f["data"]["completed_lessons"], f["data"]["percent"], f["data"]["course_completed"]) for f in frames] == [
            (1, 33, False), (2, 66, False), (3, 100, True),
        ]
        assert frames[-1]["data"]["next_lesson"] is None
        assert [f["id"] for f in frames] == sorted(f["id"] for f in frames)
        await comm.disconnect()

    run(scenario)


def test_notifications_stream_created_then_read(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/notifications/", world.learner_session)
        await comm.connect()
        since = await adb(latest_event_id)()
        await resume(comm, since)
        unread_before = await adb(unread_notification_count)(user_id=world.learner.pk)
        note = await adb(services.notification_create)(
            user=world.learner, kind="announcement", title="Hello", body="Welcome aboard.", link="/courses/"
        )
        created = await receive_event(comm)
        assert created == {
            "type": "notification.created",
            "id": created["id"],
            "data": {
                "id": note.pk, "kind": "announcement", "title": "Hello", "body": "Welcome aboard.",
                "link": "/courses/", "created_at": created["data"]["created_at"], "unread_count": unread_before + 1,
            },
        }
        assert created["id"] > since
        await adb(services.notification_mark_read)(user=world.learner, notification_ids=[note.pk])
        read = await receive_event(comm)
        assert read == {
            "type": "notification.read", "id": created["id"] + 1,
            "data": {"ids": [note.pk], "unread_count": unread_before},
        }
        await comm.disconnect()

    run(scenario)


def test_course_stream_editor_publish_pushes_course_updated_and_lesson_published(world: World) -> None:
    lesson = world.site.lessons[0]

    def edit_and_publish() -> None:
        page = LessonPage.objects.get(pk=lesson.pk)
        page.title = "Lesson 1 (revised)"
        page.save_revision().publish()

    def add_lesson() -> LessonPage:
        course = Page.objects.get(pk=world.site.course.pk).specific
        new = course.add_child(instance=LessonPage(title="Lesson 4", slug="lesson-4", summary="New.", live=False))
        new.save_revision().publish()
        return new

    async def scenario() -> None:
        comm = communicator(f"/ws/courses/{world.site.course.pk}/", world.learner_session)
        assert (await comm.connect())[0] is True
        await resume(comm, await adb(latest_event_id)())
        await adb(edit_and_publish)()
        assert (await receive_event(comm))["data"] == {
            "course_id": world.site.course.pk, "page_id": lesson.pk, "page_type": "lesson",
            "title": "Lesson 1 (revised)", "url": "/courses/python/lesson-1/",
        }
        new = await adb(add_lesson)()
        frame = await receive_event(comm)
        assert (frame["type"], frame["data"]) == ("lesson.published", {
            "course_id": world.site.course.pk, "page_id": new.pk, "title": "Lesson 4",
            "url": "/courses/python/lesson-4/",
        })
        await comm.disconnect()

    run(scenario)


def test_progress_stream_staff_approval_pushes_enrollment_activated(world: World) -> None:
    course = world.site.approval_course

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        await resume(comm, await adb(latest_event_id)())
        result = await adb(services.enrollment_request)(user=world.learner, course=course)
        await adb(services.enrollment_approve)(enrollment=result.enrollment, by=world.staff)
        frame = await receive_event(comm)
        assert (frame["type"], frame["data"]) == (
            "enrollment.activated",
            {"course_id": course.pk, "enrollment_id": result.enrollment.pk, "status": "active"},
        )
        await comm.disconnect()

    run(scenario)


def test_progress_stream_every_socket_of_the_user_gets_the_event(world: World) -> None:
    _, second_session = login_cookie(world.learner)

    async def scenario() -> None:
        tabs = [communicator("/ws/progress/", world.learner_session), communicator("/ws/progress/", second_session)]
        since = await adb(latest_event_id)()
        for tab in tabs:
            await tab.connect()
            await resume(tab, since)
        event = await adb(_publish_progress)(world.learner.pk, 1)
        for tab in tabs:
            assert (await receive_event(tab))["id"] == event.pk
            await tab.disconnect()

    run(scenario)


# --- refusals ----------------------------------------------------------------------------------


def test_connect_anonymous_closes_4401(world: World) -> None:
    async def scenario() -> None:
        for path in ("/ws/progress/", "/ws/notifications/", f"/ws/courses/{world.site.course.pk}/"):
            comm = communicator(path, None)
            assert (await comm.connect())[0] is True
            assert await receive_close(comm) == 4401

    run(scenario)


def test_connect_foreign_origin_refused(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session, origin=b"https://evil.example")
        connected, _ = await comm.connect()
        assert connected is False

    run(scenario)


def test_connect_without_origin_refused(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session, origin=None)
        connected, _ = await comm.connect()
        assert connected is False

    run(scenario)


def test_course_stream_not_enrolled_closes_4403(world: World) -> None:
    async def scenario() -> None:
        comm = communicator(f"/ws/courses/{world.site.course.pk}/", world.other_session)
        assert (await comm.connect())[0] is True
        assert await receive_close(comm) == 4403

    run(scenario)


def test_course_stream_pending_enrollment_closes_4403(world: World) -> None:
    services.enrollment_request(user=world.learner, course=world.site.approval_course)

    async def scenario() -> None:
        comm = communicator(f"/ws/courses/{world.site.approval_course.pk}/", world.learner_session)
        await comm.connect()
        assert await receive_close(comm) == 4403

    run(scenario)


def test_course_stream_staff_allowed_and_unknown_course_closes_4404(world: World) -> None:
    async def scenario() -> None:
        staff = communicator(f"/ws/courses/{world.site.course.pk}/", world.staff_session)
        assert (await staff.connect())[0] is True
        assert await resume(staff, None) == [{"type": "resumed", "data": {"since": None, "replayed": 0}}]
        await staff.disconnect()
        missing = communicator("/ws/courses/999999/", world.staff_session)
        await missing.connect()
        assert await receive_close(missing) == 4404

    run(scenario)


def test_cancelled_enrollment_closes_the_learners_course_stream_4403(world: World) -> None:
    from learning.models import Enrollment

    course = world.site.course
    enrollment = Enrollment.objects.get(user=world.learner, course=course)

    async def scenario() -> None:
        learner = communicator(f"/ws/courses/{course.pk}/", world.learner_session)
        staff = communicator(f"/ws/courses/{course.pk}/", world.staff_session)
        since = await adb(latest_event_id)()
        for comm in (learner, staff):
            assert (await comm.connect())[0] is True
            await resume(comm, since)
        await adb(services.enrollment_cancel)(enrollment=enrollment, by=world.staff)
        assert await receive_close(learner) == 4403
        # Staff follow every course: their socket stays and keeps receiving the course's events.
        event = await adb(publish)(group=groups.course(course.pk), event_type="course.updated", data={"n": 1})
        assert (await receive_event(staff))["id"] == event.pk
        await staff.disconnect()
        again = communicator(f"/ws/courses/{course.pk}/", world.learner_session)
        await again.connect()
        assert await receive_close(again) == 4403

    run(scenario)


def test_logout_closes_open_sockets_of_that_session_4401(world: World) -> None:
    _, other_tab_session = login_cookie(world.learner)

    async def scenario() -> None:
        logged_out = communicator("/ws/progress/", world.learner_session)
        still_in = communicator("/ws/progress/", other_tab_session)
        since = await adb(latest_event_id)()
        for comm in (logged_out, still_in):
            await comm.connect()
            await resume(comm, since)
        response = await adb(world.learner_client.post)("/accounts/logout/")
        assert response.status_code == 302
        assert await receive_close(logged_out) == 4401
        event = await adb(_publish_progress)(world.learner.pk, 1)
        assert (await receive_event(still_in))["id"] == event.pk
        await still_in.disconnect()
        # The old cookie no longer authenticates.
        again = communicator("/ws/progress/", world.learner_session)
        await again.connect()
        assert await receive_close(again) == 4401

    run(scenario)


def test_session_deleted_without_logout_stops_pushes_4401(world: World, settings: Any) -> None:
    settings.REALTIME_SESSION_RECHECK_SECONDS = 0

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        await resume(comm, await adb(latest_event_id)())
        await adb(SessionStore(world.learner_session).delete)()
        await adb(_publish_progress)(world.learner.pk, 1)
        assert await receive_close(comm) == 4401

    run(scenario)


# --- resume, replay, ordering ------------------------------------------------------------------------


def test_resume_after_gap_replays_missed_events_in_order_once(world: World) -> None:
    uid = world.learner.pk

    async def scenario() -> None:
        first = communicator("/ws/progress/", world.learner_session)
        await first.connect()
        await resume(first, await adb(latest_event_id)())
        seen = (await adb(_publish_progress)(uid, 1)).pk
        assert (await receive_event(first))["id"] == seen
        await first.disconnect()
        # Offline: three events, one for another user and one for another stream in between.
        missed = [(await adb(_publish_progress)(uid, n)).pk for n in (2, 3)]
        await adb(_publish_progress)(world.other.pk, 9)
        await adb(publish)(group=groups.user_notifications(uid), event_type="notification.read", data={})
        missed.append((await adb(_publish_progress)(uid, 4)).pk)

        second = communicator("/ws/progress/", world.learner_session)
        await second.connect()
        frames = await resume(second, seen)
        assert [f.get("id") for f in frames] == [*missed, None]
        assert [f["data"]["n"] for f in frames[:-1]] == [2, 3, 4]
        assert frames[-1] == {"type": "resumed", "data": {"since": seen, "replayed": 3}}
        live = (await adb(_publish_progress)(uid, 5)).pk
        assert (await receive_event(second))["id"] == live
        # Resuming again on the same connection sends nothing twice.
        assert await resume(second, seen) == [{"type": "resumed", "data": {"since": seen, "replayed": 0}}]
        assert await second.receive_nothing() is True
        await second.disconnect()

    run(scenario)


def test_resume_from_zero_replays_only_courses_the_learner_may_still_read(world: World) -> None:
    """Issue 19, finding 6: a learner whose enrollment was cancelled gets no replay (and no live
    frame) of that course's stored progress events; other courses' events and events about no
    course still arrive."""
    from learning.models import Enrollment

    course, lesson = world.site.course, world.site.lessons[0]
    uid = world.learner.pk
    services.enrollment_request(user=world.learner, course=world.site.other_course)
    joined = Event.objects.get(
        group=groups.user_progress(uid), type="enrollment.activated", data__course_id=world.site.other_course.pk
    ).pk
    services.lesson_progress_record(user=world.learner, lesson=lesson)
    lost = [
        event.pk for event in Event.objects.filter(group=groups.user_progress(uid), data__course_id=course.pk)
    ]
    assert len(lost) == 2  # enrollment.activated and progress.updated of the course now lost
    services.enrollment_cancel(enrollment=Enrollment.objects.get(user=world.learner, course=course), by=world.staff)
    other = publish(
        group=groups.user_progress(uid), event_type="progress.updated", data={"course_id": world.site.other_course.pk}
    ).pk
    plain = _publish_progress(uid, 1).pk

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        assert (await comm.connect())[0] is True
        frames = await resume(comm, 0)
        assert [f.get("id") for f in frames] == [joined, other, plain, None]
        assert frames[-1] == {"type": "resumed", "data": {"since": 0, "replayed": 3}}
        # Live: an event of the lost course is not delivered either; the next one is.
        await adb(publish)(group=groups.user_progress(uid), event_type="progress.updated", data={"course_id": course.pk})
        live = (await adb(_publish_progress)(uid, 2)).pk
        assert (await receive_event(comm))["id"] == live
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)


def test_resume_live_frames_before_resume_are_held_and_not_duplicated(world: World) -> None:
    uid = world.learner.pk

    async def scenario() -> None:
        since = await adb(latest_event_id)()
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        # Pushed after connect, before the client's resume: live and replayed at the same time.
        ids = [(await adb(_publish_progress)(uid, n)).pk for n in (1, 2, 3)]
        assert await comm.receive_nothing(timeout=0.3) is True
        frames = await resume(comm, since)
        assert [f.get("id") for f in frames] == [*ids, None]
        assert frames[-1]["data"]["replayed"] == 3
        assert await comm.receive_nothing(timeout=0.5) is True
        await comm.disconnect()

    run(scenario)


def test_no_resume_client_gets_live_frames_after_the_wait(world: World, settings: Any) -> None:
    settings.REALTIME_RESUME_WAIT_SECONDS = 0.05

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        event = await adb(_publish_progress)(world.learner.pk, 1)
        assert (await receive_event(comm))["id"] == event.pk
        await comm.disconnect()

    run(scenario)


def test_resume_before_pruned_events_sends_resync(world: World) -> None:
    uid = world.learner.pk

    async def scenario() -> None:
        old = (await adb(_publish_progress)(uid, 1)).pk
        gone = await adb(_publish_progress)(uid, 2)
        kept = (await adb(_publish_progress)(uid, 3)).pk
        # The prune task deletes the oldest rows first.
        await adb(Event.objects.filter(pk__lte=gone.pk).delete)()
        comm = communicator("/ws/progress/", world.learner_session)
        await comm.connect()
        frames = await resume(comm, old)
        assert frames == [
            {"type": "resync", "data": {"last_id": kept}},
            {"type": "resumed", "data": {"since": old, "replayed": 0}},
        ]
        await comm.disconnect()

    run(scenario)


# --- bad input ----------------------------------------------------------------------------------------


def test_bad_frames_get_error_frames_and_the_connection_lives(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/notifications/", world.learner_session)
        await comm.connect()
        cases = [
            ("not json", "malformed"),
            ("[1, 2]", "malformed"),
            ('{"no": "type"}', "malformed"),
            ('{"type": "subscribe"}', "unknown_type"),
            ('{"type": "resume", "since": -1}', "invalid"),
            ('{"type": "resume", "since": "7"}', "invalid"),
            ('{"type": "resume", "since": true}', "invalid"),
            ('{"type": "ping", "pad": "' + "x" * 5000 + '"}', "too_large"),
        ]
        for text, code in cases:
            await comm.send_to(text_data=text)
            frame = await receive(comm)
            assert (frame["type"], frame["data"]["code"]) == ("error", code)
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await receive(comm))["data"]["code"] == "unsupported"
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)


def test_deeply_nested_frame_gets_an_error_frame_and_the_connection_lives(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/notifications/", world.learner_session)
        await comm.connect()
        for text in ("[" * 4000, "[" * 2000 + "]" * 2000, "[" * 1500 + '{"type":"ping"}' + "]" * 1500):
            assert len(text.encode()) <= 4096  # under the frame size limit: the parser sees it
            await comm.send_to(text_data=text)
            frame = await receive(comm)
            assert (frame["type"], frame["data"]["code"]) == ("error", "malformed")
        await comm.send_json_to({"type": "ping"})
        assert await receive(comm) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)


def test_unknown_path_closes_4404_without_an_error_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    paths = ["/ws/nope/", "/ws/", "/ws/courses/abc/", "/ws/courses/1/extra/", "/ws/progress", "/elsewhere/"]

    async def scenario() -> None:
        for path in paths:
            for session in (world.learner_session, None):
                comm = communicator(path, session)
                assert (await comm.connect())[0] is True, path
                assert await receive_close(comm) == 4404, path

    with caplog.at_level("WARNING"):
        run(scenario)
    assert caplog.records == []


def test_unknown_path_from_a_foreign_origin_is_still_refused(world: World) -> None:
    async def scenario() -> None:
        comm = communicator("/ws/nope/", world.learner_session, origin=b"https://evil.example")
        assert (await comm.connect())[0] is False

    run(scenario)


def test_rate_limit_refuses_a_flood_then_closes_4429(world: World, settings: Any) -> None:
    settings.REALTIME_CLIENT_BURST = 5
    settings.REALTIME_CLIENT_RATE_PER_SECOND = 0.001
    settings.REALTIME_CLIENT_MAX_REFUSED = 10

    async def scenario() -> None:
        comm = communicator("/ws/notifications/", world.learner_session)
        await comm.connect()
        for _ in range(5):
            await comm.send_json_to({"type": "ping"})
            assert await receive(comm) == {"type": "pong"}
        await comm.send_json_to({"type": "ping"})
        frame = await receive(comm)
        assert (frame["type"], frame["data"]["code"]) == ("error", "rate_limited")
        for _ in range(9):
            await comm.send_json_to({"type": "ping"})
        assert await comm.receive_nothing(timeout=0.3) is True
        await comm.send_json_to({"type": "ping"})
        assert await receive_close(comm) == 4429

    run(scenario)


def test_inactive_user_closes_4401(world: World) -> None:
    user = make_user("zed")
    _, session = login_cookie(user)
    user.is_active = False
    user.save()

    async def scenario() -> None:
        comm = communicator("/ws/progress/", session)
        await comm.connect()
        assert await receive_close(comm) == 4401

    run(scenario)
