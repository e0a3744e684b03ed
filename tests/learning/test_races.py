"""Concurrent duplicate requests on PostgreSQL: real connections (one per thread), one outcome.

Each worker thread gets its own database connection (Django's connections are per thread) and
waits on a barrier so the calls overlap; the database's constraints and row locks must leave
exactly one row and send each event once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.db import connection

from learning import services
from learning.models import Enrollment, LessonProgress, Notification
from tests.courses.helpers import Tree

# serialized_rollback: the flush after each test would drop the page tree root and the default
# Site that Wagtail's migrations create.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

T = TypeVar("T")
THREADS = 6
Events = list[tuple[str, dict[str, Any]]]


def run_concurrently(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread and connection, all released at once; re-raise errors."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def work(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def count(events: Events, name: str) -> int:
    return sum(1 for event, _payload in events if event == name)


def test_concurrent_enrollment_requests_leave_one_row(tree: Tree, learner: Any, captured_events: Events) -> None:
    results = run_concurrently([lambda: services.enrollment_request(user=learner, course=tree.python)] * THREADS)
    assert Enrollment.objects.count() == 1
    assert {result.enrollment.pk for result in results} == {Enrollment.objects.get().pk}
    assert sorted(result.created for result in results) == [False] * (THREADS - 1) + [True]
    assert (count(captured_events, "enrollment_requested"), count(captured_events, "enrollment_activated")) == (1, 1)
    assert Notification.objects.filter(user=learner, kind="enrollment_approved").count() == 1


def test_concurrent_completions_of_one_lesson_leave_one_row_and_one_event(
    tree: Tree, learner: Any, captured_events: Events
) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    lesson = tree.lessons[0]
    results = run_concurrently([lambda: services.lesson_progress_record(user=learner, lesson=lesson)] * THREADS)
    assert LessonProgress.objects.count() == 1
    assert sorted(result.newly_completed for result in results) == [False] * (THREADS - 1) + [True]
    assert count(captured_events, "lesson_completed") == 1
    assert Enrollment.objects.get().completed_lessons == 1


def test_concurrent_last_lessons_complete_the_course_once(tree: Tree, learner: Any, captured_events: Events) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    last_two = tree.lessons[1:]
    calls = [
        (lambda lesson=lesson: services.lesson_progress_record(user=learner, lesson=lesson))
        for lesson in last_two * (THREADS // 2)
    ]
    results = run_concurrently(calls)
    assert sum(result.course_newly_completed for result in results) == 1
    assert count(captured_events, "course_completed") == 1
    assert count(captured_events, "lesson_completed") == 3
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.completed_lessons, enrollment.progress_percent) == ("completed", 3, 100)
    assert Notification.objects.filter(user=learner, kind="course_completed").count() == 1


def test_concurrent_approvals_activate_once(tree: Tree, learner: Any, staff: Any, captured_events: Events) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    results = run_concurrently([lambda: services.enrollment_approve(enrollment=pending.pk, by=staff)] * THREADS)
    assert sum(result.changed for result in results) == 1
    assert count(captured_events, "enrollment_activated") == 1


def test_concurrent_mark_all_read_counts_each_notification_once(learner: Any, captured_events: Events) -> None:
    for i in range(5):
        services.notification_create(user=learner, kind="announcement", title=f"n{i}")
    results = run_concurrently([lambda: services.notification_mark_read(user=learner)] * THREADS)
    assert sorted(results) == [0] * (THREADS - 1) + [5]
    assert count(captured_events, "notification_read") == 1
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_concurrent_reminder_runs_send_each_reminder_once(tree: Tree, learner: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from courses.models import DueRule
    from learning import reminders
    from learning.models import DateReminder
    from tests.courses.helpers import make_lesson

    now = timezone.now()
    make_lesson(tree.python, "Essay", slug="essay", due_rule=DueRule.FIXED, due_at=now + timedelta(hours=2))
    Enrollment.objects.create(user=learner, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now)
    runs = run_concurrently([lambda: reminders.send_date_reminders(now=now)] * THREADS)
    assert sum(run.sent for run in runs) == 1
    assert sum(run.already_sent for run in runs) == THREADS - 1
    assert DateReminder.objects.count() == 1
    assert Notification.objects.filter(user=learner, kind=Notification.Kind.LESSON_DUE).count() == 1
