"""Against real ``manage.py qcluster`` processes on PostgreSQL: a worker SIGKILLed while it
waits for the receiver's answer. After a restart every event id reaches the receiver, the one
in flight twice (at least once on the network, with the same ``Webhook-Id``), and the log shows
each delivery succeeded once; deduplicated by id, the receiver has each event exactly once.

The receiver holds the first request without answering; the test kills the whole worker
process group once that request arrived, waits (bounded polls) until the delivery's lease ran
out, runs the sweeper the schedule runs, and lets a second worker send what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from django_q.brokers import Broker

from learning import services as learning_services
from plugins.webhooks import services
from plugins.webhooks.models import Delivery
from tests.plugins.webhooks.conftest import Receiver
from tests.tasks.conftest import WorkerProcess, wait_for
from tests.tasks.content import build_course, make_learner

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


def test_worker_killed_mid_delivery_still_delivers_every_event_once_per_id(
    queue: Broker, worker_factory: Callable[..., WorkerProcess], receiver: Receiver, settings: Any
) -> None:
    tree = build_course(lessons=3)
    learner = make_learner("ada")
    learning_services.enrollment_request(user=learner, course=tree.course)
    manager = type(learner).objects.create_superuser("manager", "manager@example.com", "pw")
    _subscription, secret = services.subscription_create(
        name="CRM", target_url=receiver.url, event_types=["lesson_completed", "course_completed"], by=manager
    )
    # The first worker waits up to 10 s for an answer, so its lease is 25 s (2 x 10 + 5).
    common = {"ACADEMY_WEBHOOKS_PRIVATE_HOSTS": "127.0.0.1", "ACADEMY_WEBHOOKS_TIMEOUT": "10"}
    receiver.blocking.set()
    first = worker_factory(ACADEMY_TASK_TIMEOUT="60", ACADEMY_TASK_RETRY="70", **common)
    first.start()

    for lesson in tree.lessons:  # 3 x lesson_completed, then course_completed
        learning_services.lesson_progress_record(user=learner, lesson=lesson, completed=True)
    assert Delivery.objects.count() == 4

    wait_for(lambda: receiver.requests, "the worker to send the first delivery", first)
    first.kill()  # mid-delivery: the receiver has the request, the worker never gets the answer
    (in_flight,) = receiver.ids()
    held = Delivery.objects.get(event_id=in_flight)
    assert (held.status, held.attempts, held.succeeded_at) == ("pending", 1, None)
    assert held.leased_until is not None

    receiver.blocking.clear()
    second = worker_factory(ACADEMY_TASK_TIMEOUT="15", ACADEMY_TASK_RETRY="20", **common)
    second.start()

    def sweep_once_the_lease_ran_out() -> bool:
        if timezone.now() > held.leased_until:
            services.deliveries_sweep()  # what the every-minute schedule does
            return True
        return False

    wait_for(sweep_once_the_lease_ran_out, "the killed worker's lease to run out", second)
    wait_for(
        lambda: Delivery.objects.filter(status="succeeded").count() == 4,
        "every delivery to succeed after the restart",
        second,
    )

    expected = set(Delivery.objects.values_list("event_id", flat=True))
    ids = receiver.ids()
    assert set(ids) == expected  # every event id arrived
    assert sorted(ids.count(event_id) for event_id in expected) == [1, 1, 1, 2]  # the one in flight, twice
    assert ids.count(in_flight) == 2
    for received in receiver.requests:
        services.signing.verify(
            secret, event_id=received.headers["Webhook-Id"], timestamp=received.headers["Webhook-Timestamp"],
            signature=received.headers["Webhook-Signature"], body=received.body, now=int(timezone.now().timestamp()),
        )
    by_id = {r.headers["Webhook-Id"]: r.json for r in receiver.requests}  # deduplicated by id
    assert sorted(body["type"] for body in by_id.values()) == ["course_completed"] + ["lesson_completed"] * 3
    assert sorted(body["data"].get("lesson_id", 0) for body in by_id.values()) == sorted(
        [0, *(lesson.pk for lesson in tree.lessons)]
    )
    log = list(Delivery.objects.values_list("event_id", "status", "attempts"))
    assert sorted(log) == sorted(
        (event_id, "succeeded", 2 if event_id == in_flight else 1) for event_id in expected
    )
