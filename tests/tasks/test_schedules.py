"""Periodic tasks: created once, whatever the number of setups; scheduled publishing on Django-Q2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.brokers import Broker
from django_q.models import Schedule

from academy.schedules import declared_schedules
from learning import tasks
from tests.tasks.conftest import PATIENCE_SECONDS, ROOT, queued_tasks
from tests.tasks.content import build_course

pytestmark = pytest.mark.django_db

EXPECTED = {
    "academy:learning:publish_scheduled_pages": ("learning.tasks.publish_scheduled_pages", 1, None),
    "academy:learning:resend_stalled_emails": ("learning.tasks.resend_stalled_emails", 5, None),
    "academy:learning:cleanup_expired_sessions": ("learning.tasks.cleanup_expired_sessions", 1440, None),
    "academy:learning:prune_idempotency_keys": ("learning.tasks.prune_idempotency_keys", 60, None),
    "academy:learning:sweep_event_outbox": ("learning.tasks.sweep_event_outbox", 1, None),
    "academy:learning:prune_event_outbox": ("learning.tasks.prune_event_outbox", 60, None),
    "academy:learning:clear_expired_oauth_tokens": ("learning.tasks.clear_expired_oauth_tokens", 1440, None),
    "academy:learning:send_date_reminders": ("learning.tasks.send_date_reminders", 15, None),
    "academy:learning:prune_read_notifications": ("learning.tasks.prune_read_notifications", 1440, "{'days': 90}"),
}


def _setup() -> str:
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue().strip()


def _stored() -> dict[str, tuple[str, int, str | None]]:
    return {s.name: (s.func, s.minutes, s.kwargs) for s in Schedule.objects.filter(name__startswith="academy:")}


def test_setup_schedules_twice_leaves_each_schedule_once() -> None:
    declared = len(declared_schedules())  # every installed app's, plugins included
    first = _setup()
    second = _setup()

    assert first == f"schedules: {declared} created, 0 updated, 0 unchanged, 0 removed"
    assert second == f"schedules: 0 created, 0 updated, {declared} unchanged, 0 removed"
    assert {name: value for name, value in _stored().items() if name.startswith("academy:learning:")} == EXPECTED
    # A plugin's schedule runs only while the plugin is on (academy.schedules.run_if_active).
    func, minutes, kwargs = _stored()["academy:webhooks:sweep_deliveries"]
    assert (func, minutes) == ("academy.schedules.run_if_active", 1)
    assert "plugins.webhooks.tasks.sweep_deliveries" in str(kwargs)
    assert Schedule.objects.filter(name__startswith="academy:").count() == declared
    assert sorted(_stored()) == sorted(declared_schedules())


def test_setup_schedules_repairs_a_changed_schedule_and_removes_a_stale_one() -> None:
    _setup()
    Schedule.objects.filter(name="academy:learning:publish_scheduled_pages").update(minutes=60)
    Schedule.objects.create(name="academy:learning:gone", func="learning.tasks.gone", schedule_type=Schedule.MINUTES, minutes=5)
    Schedule.objects.create(name="hand-made", func="math.floor", args="1", schedule_type=Schedule.DAILY)

    declared = len(declared_schedules())
    assert _setup() == f"schedules: 0 created, 1 updated, {declared - 1} unchanged, 1 removed"
    assert sorted(_stored()) == sorted(declared_schedules())
    assert _stored()["academy:learning:publish_scheduled_pages"] == EXPECTED["academy:learning:publish_scheduled_pages"]
    assert Schedule.objects.filter(name="hand-made").count() == 1


def test_cleanup_expired_sessions_deletes_only_expired_ones() -> None:
    for days in (-1, 1):
        store = SessionStore()
        store.set_expiry(timedelta(days=days) if days > 0 else -1)
        store["k"] = "v"
        store.create()
    Session.objects.filter(expire_date__lte=timezone.now() + timedelta(hours=1)).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )

    tasks.cleanup_expired_sessions()

    assert Session.objects.count() == 1
    assert Session.objects.get().expire_date > timezone.now()


def test_publish_scheduled_pages_publishes_a_due_lesson_and_raises_the_domain_event(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    tree = build_course(lessons=1)
    lesson = tree.lessons[0]
    lesson.save_revision().publish()
    lesson.refresh_from_db()
    lesson.title = "Lesson 1, revised"
    lesson.go_live_at = timezone.now() + timedelta(hours=1)
    revision = lesson.save_revision()
    revision.publish()  # a future go-live time only schedules it
    lesson.refresh_from_db()
    assert lesson.title == "Lesson 1"
    # Let the hour pass: the go-live time of the scheduled revision is now in the past.
    past = timezone.now() - timedelta(minutes=1)
    revision.content["go_live_at"] = past.isoformat()
    revision.approved_go_live_at = past
    revision.save(update_fields=["content", "approved_go_live_at"])
    queue.purge_queue()

    with django_capture_on_commit_callbacks(execute=True):
        tasks.publish_scheduled_pages()

    lesson.refresh_from_db()
    assert lesson.title == "Lesson 1, revised"
    learning_tasks = [(t["func"], t["kwargs"]) for t in queued_tasks(queue) if t["func"].startswith("learning.")]
    assert learning_tasks == [
        ("learning.tasks.refresh_course_progress", {"course_id": tree.course.pk}),
        ("learning.tasks.broadcast_course_update",
         {"page_id": lesson.pk, "course_id": tree.course.pk, "revision_id": revision.pk, "first_publication": False}),
    ]


def test_setup_schedules_removes_duplicates_of_a_managed_schedule() -> None:
    _setup()
    Schedule.objects.create(
        name="academy:learning:publish_scheduled_pages", func="learning.tasks.publish_scheduled_pages",
        schedule_type=Schedule.MINUTES, minutes=1, repeats=-1,
    )

    declared = len(declared_schedules())
    assert _setup() == f"schedules: 0 created, 0 updated, {declared} unchanged, 1 removed"
    assert Schedule.objects.filter(name="academy:learning:publish_scheduled_pages").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_setups_started_at_once_create_each_schedule_once() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.tasks.worker_settings",
        ACADEMY_TEST_DATABASE_NAME=str(connection.settings_dict["NAME"]),
    )
    command = [sys.executable, "manage.py", "setup_schedules"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=PATIENCE_SECONDS)[0].strip() for process in processes]

    declared = len(declared_schedules())
    assert [process.returncode for process in processes] == [0, 0]
    assert sorted(outputs) == [
        f"schedules: 0 created, 0 updated, {declared} unchanged, 0 removed",
        f"schedules: {declared} created, 0 updated, 0 unchanged, 0 removed",
    ]
    assert Schedule.objects.filter(name__startswith="academy:").count() == declared


def test_a_scheduled_new_lesson_is_announced_as_new_when_it_goes_live(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from learning.models import Enrollment, Notification
    from tests.tasks.conftest import run_queued_tasks
    from tests.tasks.content import make_enrollment, make_learner

    tree = build_course(lessons=1)
    tree.course.save_revision().publish()
    tree.lessons[0].save_revision().publish()
    make_enrollment(make_learner("ada"), tree.course, Enrollment.Status.ACTIVE)
    lesson = tree.lessons[0].add_sibling(instance=type(tree.lessons[0])(title="Loops", slug="loops", summary="New."))
    lesson.go_live_at = timezone.now() + timedelta(hours=1)
    revision = lesson.save_revision()
    queue.purge_queue()
    with django_capture_on_commit_callbacks(execute=True):
        revision.publish()  # only scheduled: nobody hears of it yet
    assert [t["func"] for t in queued_tasks(queue) if t["func"].startswith("learning.")] == []
    past = timezone.now() - timedelta(minutes=1)
    revision.content["go_live_at"] = past.isoformat()
    revision.approved_go_live_at = past
    revision.save(update_fields=["content", "approved_go_live_at"])

    with django_capture_on_commit_callbacks(execute=True):
        tasks.publish_scheduled_pages()
    run_queued_tasks(queue)

    titles = list(Notification.objects.filter(kind="course_updated").values_list("user__username", "title"))
    assert titles == [("ada", "New lesson in Python Basics: “Loops”")]
