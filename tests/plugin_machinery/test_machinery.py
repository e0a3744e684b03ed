"""The plugin machinery with three plugins installed for real (entry points): discovery,
activation per course and site, scoped and isolated receivers, isolated fragments, URLs and
WebSocket routes, lesson kinds and their completion gate, the admin screens, query budgets."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client
from wagtail.models import GroupPagePermission, ModelLogEntry, PageLogEntry

from academy.plugins import activation
from academy.sdk import PluginContract, World, build_world
from courses.selectors import course_lessons
from learning import services
from learning.models import LessonProgress
from tests.realtime.support import adb, communicator, receive, run

pytestmark = pytest.mark.django_db

import academy_echo  # noqa: E402  (installed by the parent test through an entry point)
from academy_echo.models import EchoLessonPage  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = False
    academy_echo.RECEIVED.clear()
    academy_echo.UNLOCKED.clear()
    academy_echo.DURABLE.clear()


@pytest.fixture
def world() -> World:
    return build_world(learners=2)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_plugins_are_installed_through_their_entry_points() -> None:
    labels = [config.label for config in apps.get_app_configs()]
    assert {"echo", "faulty", "badge"} <= set(labels)
    # After the core apps, before Wagtail's.
    assert labels.index("realtime") < labels.index("echo") < labels.index("wagtailforms")
    assert settings.ACADEMY_PLUGINS_REFUSED == []


def test_fragments_follow_activation_per_course_and_site(world: World) -> None:
    client = Client()
    course, other = world.course.url, world.other_course.url
    assert f"echo course {world.course.pk}" in page(client, course)
    assert 'data-plugin="badge"' not in page(client, course)  # opt-in: off until a course says on

    activation.set_state("echo", "off", course_id=world.course.pk)
    activation.set_state("badge", "on", course_id=world.course.pk)
    html = page(client, course)
    assert "echo course" not in html
    assert '<p class="muted small" data-plugin="badge">2 learners</p>' in html
    assert f"echo course {world.other_course.pk}" in page(client, other)
    assert 'data-plugin="badge"' not in page(client, other)

    activation.set_state("echo", "off")  # site-wide off beats a course's "on"
    activation.set_state("echo", "on", course_id=world.other_course.pk)
    assert "echo" not in page(client, other)
    activation.set_state("echo", "on")
    assert "echo header" in page(client, other)


def test_receivers_run_only_where_their_plugin_is_active_and_a_failing_one_breaks_nothing(
    world: World, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    learner = world.learners[0]
    activation.set_state("echo", "off", course_id=world.other_course.pk)
    other_lesson = world.other_course.get_children().first()
    client = Client()
    client.force_login(learner)
    with caplog.at_level(logging.ERROR, logger="academy.events"), django_capture_on_commit_callbacks(execute=True):
        first = client.post("/learning/progress/", {"lesson_id": world.lessons[0].pk})
        second = client.post("/learning/progress/", {"lesson_id": other_lesson.pk})
    assert first.status_code == second.status_code == 302
    assert [(name, payload["course_id"]) for name, payload in academy_echo.RECEIVED] == [
        ("lesson_completed", world.course.pk)
    ]
    failures = [r for r in caplog.records if "academy_faulty.receivers.explode" in r.getMessage()]
    assert len(failures) == 2  # it ran (and failed) in both courses: faulty is active in both
    assert LessonProgress.objects.filter(user=learner, completed_at__isnull=False).count() == 2

    # Events without a course reach a plugin that is active site-wide.
    from learning import events

    events.sessions_ended.dispatch({"user_id": learner.pk, "reason": "logout_everywhere"})
    assert academy_echo.RECEIVED[-1][0] == "sessions_ended"


def test_a_plugins_durable_receiver_is_stored_and_swept_only_where_the_plugin_is_active(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from academy.events import OUTBOX_GRACE, outbox_sweep
    from academy.models import OutboxEvent

    learner, other_learner = world.learners
    activation.set_state("webhooks", "off")  # only echo's durable receiver stores events here
    activation.set_state("echo", "off", course_id=world.other_course.pk)
    OutboxEvent.objects.all().delete()

    # Completions whose after-commit work never runs (a killed web process): callbacks not run.
    with django_capture_on_commit_callbacks():
        for lesson in world.lessons:
            services.lesson_progress_record(user=learner, lesson=lesson.pk, completed=True)
        services.lesson_progress_record(user=learner, lesson=world.other_course.get_children().first().pk)
    # Stored for the course where echo is on; nothing for the other (echo is off there).
    (row,) = OutboxEvent.objects.all()
    assert (row.name, row.payload["course_id"]) == ("course_completed", world.course.pk)

    # An editor switches echo off for that course before the sweep: the sweep follows the switch.
    activation.set_state("echo", "off", course_id=world.course.pk)
    assert outbox_sweep(now=row.created_at + OUTBOX_GRACE) == 1
    assert list(academy_echo.DURABLE) == []

    # Back on: a new row reaches the receiver through the sweep, once.
    activation.set_state("echo", "on", course_id=world.course.pk)
    with django_capture_on_commit_callbacks():
        for lesson in world.lessons:
            services.lesson_progress_record(user=other_learner, lesson=lesson.pk, completed=True)
    fresh = OutboxEvent.objects.get(done_at__isnull=True)
    assert outbox_sweep(now=fresh.created_at + OUTBOX_GRACE) == 1
    assert outbox_sweep(now=fresh.created_at + OUTBOX_GRACE) == 0
    assert list(academy_echo.DURABLE) == [("course_completed", str(fresh.event_id), world.course.pk)]


def test_a_failing_fragment_is_logged_and_the_page_is_served(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="academy.plugins.slots"):
        html = page(Client(), world.course.url)
    assert f"echo course {world.course.pk}" in html
    assert any("Explodes" in record.getMessage() for record in caplog.records)


def test_urls_and_sockets_are_mounted_and_switched_off_site_wide(world: World) -> None:
    client = Client()
    assert client.get("/p/echo/").content == b"echo ok"
    activation.set_state("echo", "off")
    assert client.get("/p/echo/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_websocket_route_of_a_plugin() -> None:
    async def scenario() -> None:
        comm = communicator("/ws/p/echo/hello/")
        connected, _ = await comm.connect()
        assert connected
        assert await receive(comm) == {"type": "echo.hello"}
        await comm.disconnect()

        await adb(activation.set_state)("echo", "off")
        comm = communicator("/ws/p/echo/hello/")
        assert await comm.connect() == (False, 4404)

    run(scenario)


def test_a_lesson_kind_is_a_lesson_where_active_and_hidden_where_off(world: World, django_capture_on_commit_callbacks: Any) -> None:
    quiz = world.course.add_child(instance=EchoLessonPage(title="Say it", slug="say-it", summary="Say the word."))
    quiz.save_revision().publish()
    learner = world.learners[0]
    assert [lesson.pk for lesson in course_lessons(course=world.course)][-1] == quiz.pk
    html = page(_logged_in(learner), quiz.url)
    assert "Mark as complete" not in html

    with pytest.raises(services.CompletionNotAllowed, match="Say the password first"):
        services.lesson_progress_record(user=learner, lesson=quiz.pk)
    academy_echo.UNLOCKED.add(learner.pk)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.lesson_progress_record(user=learner, lesson=quiz.pk)
    assert (result.completed_lessons, result.total_lessons) == (1, 4)

    activation.set_state("echo", "off", course_id=world.course.pk)
    assert quiz.pk not in [lesson.pk for lesson in course_lessons(course=world.course)]
    assert _logged_in(learner).get(quiz.url).status_code == 404
    assert not EchoLessonPage.can_create_at(world.course)
    assert EchoLessonPage.can_create_at(world.other_course)
    with pytest.raises(services.LessonNotAvailable):
        services.lesson_progress_record(user=learner, lesson=quiz.pk)
    # Switched off, it no longer counts: 3 core lessons, none complete.
    assert services.lesson_progress_record(user=learner, lesson=world.lessons[0].pk).total_lessons == 3


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_screens_switch_plugins_with_page_permissions(world: World) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model()
    admin = users.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = _logged_in(admin)
    listing = client.get("/admin/plugins/").content.decode()
    assert all(f'data-plugin="{label}"' in listing for label in ("echo", "faulty", "badge"))
    assert client.post("/admin/plugins/", {"state-badge": "on"}).status_code == 302
    assert activation.is_active("badge", course_id=world.other_course.pk)
    assert ModelLogEntry.objects.filter(action="academy.plugin_site_state").count() == 1

    editors = Group.objects.create(name="Course A editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    GroupPagePermission.objects.create(group=editors, page=world.course, permission_type="change")
    editor = users.objects.create_user("ed", "ed@example.com", "pw-ed-1")
    editor.groups.add(editors)
    as_editor = _logged_in(editor)
    assert as_editor.get("/admin/plugins/").status_code == 302  # no site-wide permission
    assert as_editor.get(f"/admin/plugins/course/{world.other_course.pk}/").status_code in (302, 403)
    form = as_editor.get(f"/admin/plugins/course/{world.course.pk}/")
    assert form.status_code == 200
    asked = as_editor.post(f"/admin/plugins/course/{world.course.pk}/", {"state-echo": "off"})
    assert (asked.status_code, 'data-confirm-plugin="echo"' in asked.content.decode()) == (200, True)
    assert activation.is_active("echo", course_id=world.course.pk)  # not before the confirmation
    confirmed = as_editor.post(f"/admin/plugins/course/{world.course.pk}/", {"state-echo": "off", "confirm": "1"})
    assert confirmed.status_code == 302
    assert not activation.is_active("echo", course_id=world.course.pk)
    assert as_editor.post(f"/admin/plugins/course/{world.course.pk}/", {"state-echo": "sideways"}).status_code == 302
    assert not activation.is_active("echo", course_id=world.course.pk)
    assert PageLogEntry.objects.filter(action="academy.plugin_course_state", page=world.course).count() == 1
    edit = as_editor.get(f"/admin/pages/{world.course.pk}/edit/").content.decode()
    assert f"/admin/plugins/course/{world.course.pk}/" in edit


@pytest.mark.parametrize("learners", [1, 10])
def test_three_active_plugins_cost_a_fixed_number_of_queries(learners: int, django_assert_num_queries: Any) -> None:
    world = build_world(learners=learners)
    client = Client()
    activation.set_state("badge", "off")
    activation.set_state("echo", "off")
    activation.set_state("faulty", "off")
    page(client, world.course.url)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        page(client, world.course.url)
    without = len(captured)  # now: the log is reset by the next request
    for label in ("badge", "echo", "faulty"):
        activation.set_state(label, "on")
    page(client, world.course.url)  # warms the activation table
    # Badge's one bulk query is all three plugins add, however many learners the course has.
    with django_assert_num_queries(without + 1):
        page(client, world.course.url)


def test_dashboard_cards_cost_one_query_per_fragment_however_many_cards(django_assert_num_queries: Any) -> None:
    world = build_world(learners=2)
    from learning.models import Enrollment

    Enrollment.objects.filter(user=world.learners[1], course=world.other_course).delete()  # one card
    counts = {}
    for user in world.learners:
        client = _logged_in(user)
        activation.set_state("badge", "off")
        page(client, "/dashboard/")
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            html = page(client, "/dashboard/")
        without = len(captured)
        assert 'data-plugin="badge"' not in html
        activation.set_state("badge", "on")
        page(client, "/dashboard/")
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            html = page(client, "/dashboard/")
        counts[user.pk] = (without, len(captured), html.count('data-plugin="badge"'))
    (two_without, two_with, two_cards), (one_without, one_with, one_cards) = counts.values()
    assert (two_cards, one_cards) == (2, 1)
    assert two_with == two_without + 1 and one_with == one_without + 1 and two_with == one_with


class TestEchoContract(PluginContract):
    plugin_label = "echo"

    def sample_events(self, world: World) -> list[tuple[Any, dict[str, Any]]]:
        from learning import events

        return [(events.sessions_ended, {"user_id": world.learners[0].pk, "reason": "logout_everywhere"})]

    def plugin_rows(self) -> dict[str, int]:
        # Echo keeps what it heard in memory: a repeated event is recorded again, by design of
        # this test plugin, so count the lesson pages it owns instead.
        return {"echo lessons": EchoLessonPage.objects.count()}


class TestBadgeContract(PluginContract):
    plugin_label = "badge"
