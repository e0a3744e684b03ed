"""A process SIGKILLed right after its transaction committed loses no webhook.

A real child process (``manage.py shell`` on the test database) enrolls a learner and completes
every lesson of a course in one transaction, and kills itself (SIGKILL) in the first on-commit
callback: the domain change is committed, and nothing after the commit runs (no receiver, no
task queued), as when a web process dies between its commit and its after-response receivers.
The outbox sweep (what the every-minute schedule runs) then writes the deliveries, once per event
id even when it runs again, and a real HTTP receiver gets each event once, signed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import Broker

from academy.events import OUTBOX_GRACE, outbox_sweep
from academy.models import OutboxEvent
from learning.models import Enrollment
from plugins.webhooks import services, signing
from plugins.webhooks.models import Delivery
from tests.plugins.webhooks.conftest import Receiver
from tests.tasks.conftest import PATIENCE_SECONDS, ROOT, queued_tasks, run_queued_tasks
from tests.tasks.content import build_course, make_learner

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EVENT_TYPES = ["enrollment_requested", "enrollment_activated", "lesson_completed", "course_completed"]

# Runs in the child: the whole change in one transaction, killed as soon as it committed.
CHILD = """
import os, signal
from django.contrib.auth import get_user_model
from django.db import transaction
from learning import services

user = get_user_model().objects.get(pk={learner})
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))  # the first after-commit work
    services.enrollment_request(user=user, course={course})
    for lesson in {lessons}:
        services.lesson_progress_record(user=user, lesson=lesson, completed=True)
print("still alive")
"""


def _run_killed_child(**ids: Any) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.tasks.worker_settings",
        ACADEMY_TEST_DATABASE_NAME=str(connection.settings_dict["NAME"]),
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CHILD.format(**ids)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=PATIENCE_SECONDS,
    )


def test_a_process_killed_after_its_commit_still_delivers_each_event_once(
    queue: Broker, receiver: Receiver
) -> None:
    tree = build_course(lessons=3)
    learner = make_learner("ada")
    manager = type(learner).objects.create_superuser("manager", "manager@example.com", "pw")
    _subscription, secret = services.subscription_create(
        name="CRM", target_url=receiver.url, event_types=EVENT_TYPES, by=manager
    )

    child = _run_killed_child(learner=learner.pk, course=tree.course.pk, lessons=[lesson.pk for lesson in tree.lessons])

    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert "still alive" not in child.stdout
    # Committed: the enrollment, completed, and its six events stored; nothing after the commit ran.
    assert Enrollment.objects.get(user=learner).status == "completed"
    assert sorted(OutboxEvent.objects.filter(done_at__isnull=True).values_list("name", flat=True)) == sorted(
        ["enrollment_requested", "enrollment_activated", "course_completed"] + ["lesson_completed"] * 3
    )
    assert (Delivery.objects.count(), queued_tasks(queue), receiver.requests) == (0, [], [])

    swept_at = timezone.now() + OUTBOX_GRACE  # what the schedule sees a minute later
    assert outbox_sweep(now=swept_at) == 6
    assert outbox_sweep(now=swept_at) == 0  # again: nothing left to do
    assert OutboxEvent.objects.filter(done_at__isnull=True).count() == 0
    assert Delivery.objects.count() == 6

    ran = run_queued_tasks(queue)  # what the worker does

    assert [task.result for task in ran] == ["succeeded"] * 6
    expected = set(Delivery.objects.values_list("event_id", flat=True))
    ids = receiver.ids()
    assert sorted(ids) == sorted(expected) and len(expected) == 6  # each event id once
    now = int(timezone.now().timestamp())
    for received in receiver.requests:
        signing.verify(
            secret, event_id=received.headers["Webhook-Id"], timestamp=received.headers["Webhook-Timestamp"],
            signature=received.headers["Webhook-Signature"], body=received.body, now=now,
        )
    bodies = [received.json for received in receiver.requests]
    assert sorted(body["type"] for body in bodies) == sorted(
        ["enrollment_requested", "enrollment_activated", "course_completed"] + ["lesson_completed"] * 3
    )
    assert sorted(body["data"]["lesson_id"] for body in bodies if body["type"] == "lesson_completed") == sorted(
        lesson.pk for lesson in tree.lessons
    )
    assert {body["data"]["user_id"] for body in bodies} == {learner.pk}

    assert outbox_sweep(now=swept_at + OUTBOX_GRACE) == 0  # later runs send nothing again
    assert (run_queued_tasks(queue), len(receiver.requests), Delivery.objects.count()) == ([], 6, 6)
