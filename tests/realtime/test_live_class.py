"""The staff's live class view: its stream /ws/staff/courses/<id>/ (class.activity frames, the
permission matrix of the stream and of the page) and the page's first picture."""

from __future__ import annotations

import pytest
from django.test import Client

from courses.models import LessonPage
from learning import services, staff_selectors
from realtime.selectors import latest_event_id
from tests.learning.staff_world import course_editor
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


def test_staff_stream_pushes_class_activity_with_exact_payload(world: World) -> None:
    lesson = world.site.lessons[0]
    second = {"id": world.site.lessons[1].pk, "title": "Lesson 2", "url": "/courses/python/lesson-2/"}

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
                "at": result.progress.completed_at.isoformat(),
                # learning.progress.ProgressData, the one progress shape
                "course_id": world.site.course.pk, "completed_lessons": 1, "total_lessons": 3, "percent": 33,
                "status": "active", "status_label": "Active", "course_completed": False,
                "next_lesson": second, "resume_lesson": second,
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


def test_progress_stream_pushes_the_one_progress_shape_exactly(world: World) -> None:
    """progress.updated carries learning.progress.ProgressData (+ the lesson just completed):
    the status and links the dashboard card, resume panel and course page need, exactly."""
    first, second, third = world.site.lessons
    link = {pk: {"id": pk, "title": f"Lesson {n}", "url": f"/courses/python/lesson-{n}/"}
            for n, pk in enumerate([first.pk, second.pk, third.pk], 1)}

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        assert (await comm.connect())[0] is True
        await resume(comm, await adb(latest_event_id)())
        frames = []
        for lesson in (first, second, third):
            await adb(services.lesson_progress_record)(user=world.learner, lesson=lesson)
            frames.append(await receive_event(comm))
        common = {"type": "progress.updated"}
        assert frames == [
            {**common, "id": frames[0]["id"], "data": {
                "lesson_id": first.pk, "course_id": world.site.course.pk, "completed_lessons": 1, "total_lessons": 3,
                "percent": 33, "status": "active", "status_label": "Active", "course_completed": False,
                "next_lesson": link[second.pk], "resume_lesson": link[second.pk]}},
            {**common, "id": frames[1]["id"], "data": {
                "lesson_id": second.pk, "course_id": world.site.course.pk, "completed_lessons": 2, "total_lessons": 3,
                "percent": 66, "status": "active", "status_label": "Active", "course_completed": False,
                "next_lesson": link[third.pk], "resume_lesson": link[third.pk]}},
            {**common, "id": frames[2]["id"], "data": {
                "lesson_id": third.pk, "course_id": world.site.course.pk, "completed_lessons": 3, "total_lessons": 3,
                "percent": 100, "status": "completed", "status_label": "Completed", "course_completed": True,
                "next_lesson": None, "resume_lesson": None}},
        ]
        await comm.disconnect()

    run(scenario)


def test_analytics_and_live_class_count_only_the_lessons_learners_see(world: World) -> None:
    """A draft lesson (never published, or unpublished) is no column of the live class and no
    row of the analytics funnel, and its completions are not counted: the same lessons as the
    course page and the learner's progress (learning.progress.course_lesson_ids)."""
    course = world.site.course
    draft = course.add_child(instance=LessonPage(title="Draft lesson", slug="draft", summary="Soon.", live=False))
    services.lesson_progress_record(user=world.learner, lesson=world.site.lessons[0])
    unpublished = LessonPage.objects.get(pk=world.site.lessons[2].pk)
    from learning.models import LessonProgress

    LessonProgress.objects.create(
        user=world.learner, lesson=unpublished, course_id=course.pk, completed_at=unpublished.last_published_at,
    )
    unpublished.unpublish()
    counted = [lesson.pk for lesson in world.site.lessons[:2]]

    analytics = staff_selectors.course_analytics(course=course)
    assert [(row.lesson.id, row.lesson.number, row.reached, row.completed) for row in analytics.funnel] == [
        (counted[0], 1, 1, 1), (counted[1], 2, 0, 0),
    ]
    live = staff_selectors.live_class(course=course)
    assert [lesson.id for lesson in live.lessons] == counted
    assert [row.lesson.title for row in live.recent_completions] == ["Lesson 1"]
    client = Client()
    client.force_login(world.staff)
    html = client.get(f"/admin/live/courses/{course.pk}/").content.decode()
    assert html.count("data-live-lesson=") == 2
    assert f'data-live-lesson="{draft.pk}"' not in html and "Draft lesson" not in html
    assert f'data-live-lesson="{unpublished.pk}"' not in html


def test_staff_stream_of_a_cohort_role_carries_its_cohorts_learners_only(world: World) -> None:
    """A teacher of one cohort follows the stream, but frames about a learner of another cohort
    never reach them, live or replayed; their own cohort's learner's do."""
    from learning import cohorts

    autumn = cohorts.cohort_create(course=world.site.course, by=world.staff, name="Autumn")
    services.enrollment_add(user=world.other, course=world.site.course, by=world.staff, cohort=autumn)
    teacher = make_user("tina")
    cohorts.role_grant(course=world.site.course, user=teacher, role="teacher", by=world.staff, cohort=autumn)
    _client, session = login_cookie(teacher)
    lesson = world.site.lessons[0]

    async def scenario() -> None:
        comm = communicator(f"/ws/staff/courses/{world.site.course.pk}/", session)
        assert (await comm.connect())[0] is True
        since = await adb(latest_event_id)()
        await adb(services.lesson_progress_record)(user=world.learner, lesson=lesson)  # ada: default cohort
        replayed = await resume(comm, since)  # the replay skips ada's frame too
        assert [frame["type"] for frame in replayed] == ["resumed"]
        await adb(services.lesson_progress_record)(user=world.learner, lesson=world.site.lessons[1])
        await adb(services.lesson_progress_record)(user=world.other, lesson=lesson)  # bob: Autumn
        frame = await receive_event(comm)
        assert (frame["type"], frame["data"]["user_id"]) == ("class.activity", world.other.pk)
        assert await comm.receive_nothing() is True
        await comm.disconnect()

    run(scenario)
def test_opening_a_lesson_puts_the_learner_on_it_in_the_live_class(world: World) -> None:
    """The lesson page's progress socket says "lesson.opened": the learner is on that lesson
    now (a progress row, not completed), the staff stream gets class.activity at once, and a
    second open within a minute costs one cache operation and sends nothing."""
    from django.core.cache import cache

    from learning.models import Enrollment, LessonProgress

    cache.clear()
    lesson = world.site.lessons[1]

    async def scenario() -> None:
        staff = communicator(f"/ws/staff/courses/{world.site.course.pk}/", world.staff_session)
        assert (await staff.connect())[0] is True
        await resume(staff, await adb(latest_event_id)())
        learner = communicator("/ws/progress/", world.learner_session)
        assert (await learner.connect())[0] is True
        await resume(learner, await adb(latest_event_id)())
        await learner.send_json_to({"type": "lesson.opened", "lesson_id": lesson.pk})
        frame = await receive_event(staff)
        assert (frame["type"], frame["data"]["lesson_id"], frame["data"]["completed"]) == ("class.activity", lesson.pk, False)
        assert frame["data"]["resume_lesson"]["id"] == lesson.pk
        await learner.send_json_to({"type": "lesson.opened", "lesson_id": lesson.pk})  # a reload
        assert await staff.receive_nothing() is True
        await learner.send_json_to({"type": "lesson.opened", "lesson_id": "x"})
        error = await receive(learner)
        while error["type"] != "error":  # the learner's own progress.updated came first
            error = await receive(learner)
        assert error == {"type": "error", "data": {"code": "invalid", "message": '"lesson_id" must be a lesson\'s id.'}}
        await learner.disconnect()
        await staff.disconnect()

    run(scenario)
    row = LessonProgress.objects.get(user=world.learner, lesson=lesson)
    assert row.completed_at is None
    enrollment = Enrollment.objects.get(user=world.learner, course=world.site.course)
    assert enrollment.resume_lesson_id == lesson.pk
    live = staff_selectors.live_class(course=world.site.course)
    assert [(row.user_id, row.resume_lesson_id) for row in live.in_class] == [(world.learner.pk, lesson.pk)]
    client = Client()
    client.force_login(world.staff)
    html = client.get(f"/admin/live/courses/{world.site.course.pk}/").content.decode()
    column = html[html.index(f'data-live-lesson="{lesson.pk}"'):]
    assert f'data-user-id="{world.learner.pk}"' in column[: column.index("</section>")]


def test_a_learner_not_in_the_course_opening_a_lesson_records_nothing(world: World) -> None:
    from django.core.cache import cache

    from learning.models import LessonProgress

    cache.clear()

    async def scenario() -> None:
        other = communicator("/ws/progress/", world.other_session)
        assert (await other.connect())[0] is True
        await resume(other, await adb(latest_event_id)())
        await other.send_json_to({"type": "lesson.opened", "lesson_id": world.site.lessons[0].pk})
        assert await other.receive_nothing() is True
        await other.disconnect()

    run(scenario)
    assert not LessonProgress.objects.filter(user=world.other).exists()


def test_live_class_median_is_never_negative_and_the_stuck_note_is_coherent(world: World) -> None:
    client = Client()
    client.force_login(world.staff)
    url = f"/admin/live/courses/{world.site.course.pk}/"
    before = client.get(url).content.decode()
    assert "Nobody: there is no median time per lesson before a first completion." in before
    # Completed in the call that first recorded it: no time spent, "0.0", never "-0.0".
    services.lesson_progress_record(user=world.learner, lesson=world.site.lessons[0])
    live = staff_selectors.live_class(course=world.site.course)
    assert str(live.median_lesson_minutes) == "0.0"
    after = client.get(url).content.decode()
    assert "(0.0 minutes per lesson)" in after and "-0.0" not in after
    assert "no median" not in after
    assert 'data-time-zone="UTC"' in after
