"""Durable receivers and the event outbox (``academy.events``): an event that has a durable
receiver is stored in the transaction that made the change (and only then), the fast path after
the commit marks it done, and the sweep runs the durable receivers of a row whose fast path never
ran (a web process killed after the commit) once, however often and however concurrently it runs.

"A killed process" here: the commit happened and the after-commit work never ran. Outside a
transactional test the test's transaction never commits, so captured on-commit callbacks that are
not executed are exactly that; the PostgreSQL test opens a request's after-response queue and
never drains it (the response never closed).
"""

from __future__ import annotations

import inspect
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from academy import middleware
from academy.events import (
    OUTBOX_GRACE,
    OUTBOX_KEEP,
    OUTBOX_KEEP_FAILED,
    OUTBOX_MAX_ATTEMPTS,
    outbox_prune,
    outbox_sweep,
)
from academy.models import OutboxEvent
from academy.plugins import activation
from academy.sdk import on_event
from learning import services
from learning.events import LearnerActivityPayload, learner_activity, lesson_completed
from learning.models import LessonProgress
from tests.academy.test_sentry import sentry_transport  # noqa: F401  (Sentry on, as with a DSN)
from tests.tasks.content import CourseTree, build_course, make_learner

pytestmark = pytest.mark.django_db

# A patience bound for the threads of the concurrency test (a hang fails, never a pass).
PATIENCE_SECONDS = 30


@dataclass
class Probe:
    """A durable receiver of ``lesson_completed`` (core code: no plugin switch applies) that
    records ``(event name, event_id, lesson_id)`` and raises while ``failures`` is positive."""

    calls: list[tuple[str, str, int]] = field(default_factory=list)
    failures: int = 0
    hold: threading.Event | None = None  # when set up: the first call waits for it
    entered: threading.Event = field(default_factory=threading.Event)

    def receive(self, sender: str, payload: Any, event_id: str, **kwargs: Any) -> None:
        self.calls.append((sender, event_id, payload["lesson_id"]))
        if self.hold is not None and not self.entered.is_set():
            self.entered.set()
            self.hold.wait(PATIENCE_SECONDS)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("probe failed")


@pytest.fixture
def probe() -> Iterator[Probe]:
    found = Probe()

    def durable_probe(sender: str, payload: Any, event_id: str, **kwargs: Any) -> None:
        found.receive(sender, payload, event_id)

    on_event(lesson_completed, dispatch_uid="tests.outbox.probe", durable=True)(durable_probe)
    try:
        yield found
    finally:
        lesson_completed.disconnect(dispatch_uid="tests.outbox.probe")
        lesson_completed.durable.discard(durable_probe)


@pytest.fixture
def course(db: None) -> CourseTree:
    return build_course(lessons=3)


@pytest.fixture
def learner(course: CourseTree) -> Any:
    user = make_learner("ada")
    services.enrollment_request(user=user, course=course.course)
    OutboxEvent.objects.all().delete()  # the enrollment's events, stored for the webhooks plugin
    return user


def _complete(learner: Any, lesson: Any) -> None:
    services.lesson_progress_record(user=learner, lesson=lesson, completed=True)


def test_an_event_with_a_durable_receiver_is_stored_in_the_emitting_transaction(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any
) -> None:
    lesson = course.lessons[0]
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        _complete(learner, lesson)
        inside = list(OutboxEvent.objects.values_list("name", "done_at", "attempts"))
    # Stored before the commit, in the service's transaction; nothing dispatched yet.
    assert inside == [("lesson_completed", None, 0)]
    assert probe.calls == []
    row = OutboxEvent.objects.get()
    assert (row.payload["lesson_id"], row.payload["user_id"], row.payload["course_id"]) == (
        lesson.pk, learner.pk, course.course.pk,
    )

    for callback in callbacks:  # the commit's fast path
        callback()

    assert probe.calls == [("lesson_completed", str(row.event_id), lesson.pk)]
    row.refresh_from_db()
    assert (row.done_at is not None, row.attempts, row.last_error) == (True, 0, "")


def test_a_rolled_back_transaction_stores_nothing_and_dispatches_nothing(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any
) -> None:
    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Undo), transaction.atomic():
        _complete(learner, course.lessons[0])
        assert OutboxEvent.objects.count() == 1
        raise Undo

    assert (OutboxEvent.objects.count(), LessonProgress.objects.count(), len(callbacks), probe.calls) == (0, 0, 0, [])


def test_only_events_with_an_active_durable_receiver_are_stored_at_one_insert_each(
    course: CourseTree, learner: Any, probe: Probe
) -> None:
    lesson = course.lessons[0]
    activity = LearnerActivityPayload(
        user_id=learner.pk, lesson_id=lesson.pk, completed=False, at="2026-12-04T10:00:00+00:00",
        course_id=course.course.pk, completed_lessons=0, total_lessons=3, percent=0, status="active",
        status_label="Active", course_completed=False, next_lesson=None, resume_lesson=None,
    )
    completed = {**activity, "enrollment_id": 1}
    del completed["completed"], completed["at"]
    activation.table()  # read once per request, as any page does before a service runs

    with CaptureQueriesContext(connection) as no_durable:
        learner_activity.emit(activity)
    with CaptureQueriesContext(connection) as durable:
        event_id = lesson_completed.emit(completed)  # type: ignore[arg-type]

    assert len(no_durable) == 0
    assert [q["sql"].split()[:3] for q in durable.captured_queries] == [["INSERT", "INTO", '"academy_outboxevent"']]
    assert list(OutboxEvent.objects.values_list("event_id", "name")) == [(uuid.UUID(event_id), "lesson_completed")]

    # A completion sends lesson_completed (stored) and learner_activity (not stored).
    OutboxEvent.objects.all().delete()
    _complete(learner, lesson)
    assert list(OutboxEvent.objects.values_list("name", flat=True)) == ["lesson_completed"]


@pytest.mark.usefixtures("sentry_transport")
def test_durable_receivers_stay_durable_under_sentrys_signal_spans(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any
) -> None:
    # With a DSN, Sentry's Django integration wraps every receiver the signal hands out.
    assert any(receiver.__name__ == "durable_probe" and receiver is not inspect.unwrap(receiver)
               for receiver in lesson_completed._live_receivers(lesson_completed.name)[0])
    with django_capture_on_commit_callbacks():  # the process dies after the commit
        _complete(learner, course.lessons[0])
    row = OutboxEvent.objects.get()
    assert outbox_sweep(now=row.created_at + OUTBOX_GRACE) == 1
    assert probe.calls == [("lesson_completed", str(row.event_id), course.lessons[0].pk)]


def test_a_plugins_durable_receiver_stores_nothing_where_the_plugin_is_off(course: CourseTree, learner: Any) -> None:
    # The webhooks plugin's receivers are durable: stored while it is on, not once it is off.
    _complete(learner, course.lessons[0])
    assert list(OutboxEvent.objects.values_list("name", flat=True)) == ["lesson_completed"]
    activation.set_state("webhooks", "off")
    _complete(learner, course.lessons[1])
    assert OutboxEvent.objects.count() == 1


def test_the_sweep_runs_a_row_whose_fast_path_never_ran_once_after_the_grace(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any
) -> None:
    lesson = course.lessons[0]
    with django_capture_on_commit_callbacks():  # committed; the process died before its callbacks
        _complete(learner, lesson)
    row = OutboxEvent.objects.get()

    assert outbox_sweep(now=row.created_at + OUTBOX_GRACE - timedelta(seconds=1)) == 0  # the fast path may still run
    assert probe.calls == []
    swept_at = row.created_at + OUTBOX_GRACE
    assert outbox_sweep(now=swept_at) == 1
    assert outbox_sweep(now=swept_at + timedelta(minutes=1)) == 0  # the next run finds it done

    assert probe.calls == [("lesson_completed", str(row.event_id), lesson.pk)]
    row.refresh_from_db()
    assert (row.done_at, row.attempts, row.last_error) == (swept_at, 1, "")


def test_a_durable_receiver_that_raises_is_tried_again_by_the_sweep_with_the_same_event_id(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any
) -> None:
    probe.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, course.lessons[0])
    row = OutboxEvent.objects.get()
    assert row.done_at is None  # the fast path ran, its durable receiver raised: not done

    assert outbox_sweep(now=row.created_at + OUTBOX_GRACE) == 1

    event_id = str(row.event_id)
    assert probe.calls == [("lesson_completed", event_id, course.lessons[0].pk)] * 2
    row.refresh_from_db()
    assert (row.done_at is not None, row.attempts, row.last_error) == (True, 1, "")


def test_a_row_whose_receiver_keeps_raising_is_given_up_then_pruned_later_than_done_ones(
    course: CourseTree, learner: Any, probe: Probe, django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, course.lessons[0])  # done on the fast path
    done = OutboxEvent.objects.get()
    probe.failures = OUTBOX_MAX_ATTEMPTS + 5
    with django_capture_on_commit_callbacks(execute=True):
        _complete(learner, course.lessons[1])
    failing = OutboxEvent.objects.exclude(pk=done.pk).get()

    now = failing.created_at + OUTBOX_GRACE
    with caplog.at_level(logging.ERROR, logger="academy.events"):
        for _ in range(OUTBOX_MAX_ATTEMPTS + 2):
            assert outbox_sweep(now=now) == 0
    failing.refresh_from_db()
    assert (failing.attempts, failing.done_at) == (OUTBOX_MAX_ATTEMPTS, now)
    assert "tests.academy.test_event_outbox" in failing.last_error and "RuntimeError: probe failed" in failing.last_error
    assert len(probe.calls) == 2 + OUTBOX_MAX_ATTEMPTS  # each fast path, then one per sweep until given up
    assert sum("given up after" in record.getMessage() for record in caplog.records) == 1

    assert outbox_prune(now=done.done_at + OUTBOX_KEEP) == 0
    assert outbox_prune(now=now + OUTBOX_KEEP + timedelta(seconds=1)) == 1  # the done one
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [failing.pk]
    assert outbox_prune(now=now + OUTBOX_KEEP_FAILED + timedelta(seconds=1)) == 1
    assert OutboxEvent.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_run_each_row_once_skipping_the_row_the_other_holds(probe: Probe) -> None:
    tree = build_course(lessons=2)
    activation.set_state("webhooks", "off")  # only the probe's rows: one per lesson
    learner = make_learner("ada")
    services.enrollment_request(user=learner, course=tree.course)  # dispatched at once (no request)
    queue: list[Any] = []
    token = middleware._after_response.set(queue)  # a request whose response never closes
    try:
        for lesson in tree.lessons:
            _complete(learner, lesson)
    finally:
        middleware._after_response.reset(token)
    first, second = OutboxEvent.objects.order_by("created_at")
    assert (first.done_at, second.done_at, probe.calls) == (None, None, [])
    now = second.created_at + OUTBOX_GRACE

    probe.hold = threading.Event()
    results: dict[str, int] = {}

    def sweep(name: str) -> None:
        try:
            results[name] = outbox_sweep(now=now)
        finally:
            connection.close()

    holder = threading.Thread(target=sweep, args=("holder",))
    holder.start()
    assert probe.entered.wait(PATIENCE_SECONDS)  # the holder runs the first row, inside its transaction
    other = threading.Thread(target=sweep, args=("other",))
    other.start()
    other.join(PATIENCE_SECONDS)
    finished_while_held = not other.is_alive()
    probe.hold.set()
    holder.join(PATIENCE_SECONDS)

    assert finished_while_held  # it skipped the locked row instead of waiting for it
    assert results == {"holder": 1, "other": 1}
    assert sorted(probe.calls) == sorted(
        [("lesson_completed", str(first.event_id), tree.lessons[0].pk),
         ("lesson_completed", str(second.event_id), tree.lessons[1].pk)]
    )
    assert OutboxEvent.objects.filter(done_at__isnull=True).count() == 0
