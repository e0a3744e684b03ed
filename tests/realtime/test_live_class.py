"""The staff's live class view: its stream /ws/staff/courses/<id>/ (class.activity frames, the
permission matrix of the stream and of the page) and the page's first picture."""

from __future__ import annotations

import pytest
from django.test import Client

from learning import services
from realtime.selectors import latest_event_id
from tests.learning.staff_world import course_editor
from tests.realtime.conftest import World
from tests.realtime.support import (
    adb,
    communicator,
    login_cookie,
    make_user,
    receive_close,
    receive_event,
    resume,
    run,
)

pytestmark = pytest.mark.usefixtures("layer")


def test_staff_stream_pushes_class_activity_with_exact_payload(world: World) -> None:
    lesson = world.site.lessons[0]

    async def scenario() -> None:
        comm = communicator(f"/ws/staff/courses/{world.site.course.pk}/", world.staff_session)
        assert (await comm.connect())[0] is True
        since = await adb(latest_event_id)()
        await resume(comm, since)
        result = await adb(services.lesson_progress_record)(user=world.learner, lesson=lesson)
        frame = await receive_event(comm)
        assert frame == {
            "type": "class.activity",
            "id": frame["id"],
            "data": {
                "user_id": world.learner.pk, "name": "ada", "lesson_id": lesson.pk, "completed": True,
                "resume_lesson_id": world.site.lessons[1].pk,
                "completed_lessons": 1, "total_lessons": 3, "percent": 33,
                "at": result.progress.completed_at.isoformat(),
            },
        }
        assert frame["id"] > since
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)


def test_staff_stream_permission_matrix(world: World) -> None:
    editor_a = course_editor("alice_editor", world.site.course)
    _, editor_session = login_cookie(editor_a)
    plain_staff = make_user("pat", is_staff=True)  # admin flag, no page permission on any course
    _, plain_session = login_cookie(plain_staff)
    course, other = world.site.course.pk, world.site.other_course.pk
    cases = [
        (world.staff_session, course, None),  # superuser
        (editor_session, course, None),  # editor of this course
        (editor_session, other, 4403),  # editor of another course
        (plain_session, course, 4403),
        (world.learner_session, course, 4403),  # an enrolled learner
        (None, course, 4401),  # anonymous
        (world.staff_session, 999999, 4404),
    ]

    async def scenario() -> None:
        measured = []
        for session, course_id, _expected in cases:
            comm = communicator(f"/ws/staff/courses/{course_id}/", session)
            assert (await comm.connect())[0] is True
            if await comm.receive_nothing(timeout=0.2):
                measured.append(None)
                await comm.disconnect()
            else:
                measured.append(await receive_close(comm))
        assert measured == [expected for _s, _c, expected in cases]

    run(scenario)


def test_live_class_page_shows_who_is_where_and_is_for_course_staff(world: World) -> None:
    services.lesson_progress_record(user=world.learner, lesson=world.site.lessons[0])
    url = f"/admin/live/courses/{world.site.course.pk}/"
    superuser_client = Client()
    superuser_client.force_login(world.staff)
    html = superuser_client.get(url).content.decode()
    column = html[html.index(f'data-live-lesson="{world.site.lessons[1].pk}"'):]
    column = column[: column.index("</section>")]
    assert f'data-user-id="{world.learner.pk}"' in column  # on lesson 2 now
    assert "ada completed Lesson 1" in html
    editor_other = course_editor("bruno_editor", world.site.other_course)
    client = Client()
    client.force_login(editor_other)
    assert client.get(url).status_code in (302, 403)
    learner_client = Client()
    learner_client.force_login(world.learner)
    assert learner_client.get(url)["Location"].startswith("/admin/login/")
