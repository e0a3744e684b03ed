"""Deliveries end to end against a real HTTP receiver: events become signed requests, once per
event id; failures back off on an injected clock and end ``dead``; a lease keeps two workers
from sending one delivery; the sweeper picks up what a killed worker left; a receiver that keeps
failing switches its subscription off; replay, ping, secret rotation, and refused targets."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_q.brokers import Broker

from learning import services as learning_services
from learning.events import lesson_completed
from learning.models import Notification
from plugins.webhooks import services, signing
from plugins.webhooks.models import Delivery, Subscription
from tests.courses.helpers import Tree
from tests.plugins.webhooks.conftest import Receiver
from tests.tasks.conftest import queued_tasks, run_queued_tasks

pytestmark = pytest.mark.django_db

class Clock:
    """An injected clock: ``clock()`` is ``now``; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(timezone.now())


def subscribe(manager: Any, receiver: Receiver, *types: str, course_id: int | None = None) -> tuple[Subscription, str]:
    return services.subscription_create(
        name="CRM", target_url=receiver.url, event_types=list(types or ["lesson_completed"]), course_id=course_id, by=manager
    )


def complete(django_capture_on_commit_callbacks: Any, learner: Any, lesson: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        learning_services.lesson_progress_record(user=learner, lesson=lesson, completed=True)


def verify(received: Any, secret: str) -> None:
    signing.verify(
        secret, event_id=received.headers["Webhook-Id"], timestamp=received.headers["Webhook-Timestamp"],
        signature=received.headers["Webhook-Signature"], body=received.body, now=int(timezone.now().timestamp()),
    )


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The example of the Standard Webhooks specification (its libraries' tests use it too).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = signing.sign(secret, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    signing.verify(secret, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp="1614265330", signature=signature,
                   body=body, now=1614265330 + 299)
    with pytest.raises(signing.SignatureError, match="too far"):
        signing.verify(secret, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp="1614265330", signature=signature,
                       body=body, now=1614265330 + 301)
    with pytest.raises(signing.SignatureError, match="No signature"):
        signing.verify(secret, event_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp="1614265330", signature=signature,
                       body=body + b" ", now=1614265330)


def test_lesson_completion_reaches_the_receiver_signed_once(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    _subscription, secret = subscribe(manager, receiver)
    lesson = tree.python.get_children().specific().first()

    complete(django_capture_on_commit_callbacks, learner, lesson)
    ran = run_queued_tasks(queue)

    assert [(task.func, task.result) for task in ran] == [("plugins.webhooks.tasks.deliver", "succeeded")]
    (received,) = receiver.requests
    verify(received, secret)
    body = received.json
    assert (received.path, received.headers["Content-Type"], body["type"], body["id"]) == (
        "/hooks", "application/json", "lesson_completed", received.headers["Webhook-Id"],
    )
    assert (body["data"]["user_id"], body["data"]["lesson_id"], body["data"]["course_id"]) == (
        learner.pk, lesson.pk, tree.python.pk,
    )
    assert body["data"]["completed_lessons"] == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.event_id) == (
        "succeeded", 1, 200, received.headers["Webhook-Id"],
    )
    assert Subscription.objects.get().consecutive_failures == 0


def test_an_event_seen_twice_is_one_delivery(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(manager, receiver)
    lesson = tree.python.get_children().specific().first()
    captured: list[dict[str, Any]] = []

    def capture(sender: str, payload: Any, **kwargs: Any) -> None:
        captured.append(payload)

    lesson_completed.connect(capture, dispatch_uid="test-capture")
    try:
        complete(django_capture_on_commit_callbacks, learner, lesson)
    finally:
        lesson_completed.disconnect(dispatch_uid="test-capture")
    lesson_completed.dispatch(captured[0])  # the same event again (events may arrive twice)
    run_queued_tasks(queue)

    assert Delivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_only_the_subscribed_types_and_course_are_delivered(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(manager, receiver, "lesson_completed", course_id=tree.sql.pk)  # another course
    everything, _ = subscribe(manager, receiver, "course_completed", "lesson_completed")
    lessons = list(tree.python.get_children().specific())

    for lesson in lessons:
        complete(django_capture_on_commit_callbacks, learner, lesson)
    run_queued_tasks(queue)

    assert sorted(Delivery.objects.values_list("subscription_id", "event_type")) == sorted(
        [(everything.pk, "lesson_completed")] * len(lessons) + [(everything.pk, "course_completed")]
    )
    assert sorted(r.json["type"] for r in receiver.requests) == sorted(["lesson_completed"] * 3 + ["course_completed"])


def _one_delivery(manager: Any, receiver: Receiver, tree: Tree, learner: Any, clock: Clock) -> Delivery:
    subscribe(manager, receiver)
    lesson = tree.python.get_children().specific().first()
    payload = {"user_id": learner.pk, "lesson_id": lesson.pk, "enrollment_id": 1, "course_id": tree.python.pk}
    (delivery,) = services.deliveries_for_event(event_type="lesson_completed", payload=payload, now=clock.now)
    return delivery


def test_failed_attempts_back_off_with_jitter_then_give_up(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, settings: Any
) -> None:
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    settings.WEBHOOKS_BACKOFF = [60, 300]
    receiver.default = 503
    delivery = _one_delivery(manager, receiver, tree, learner, clock)
    started = clock.now

    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "failed"
    delivery.refresh_from_db()
    first_wait = delivery.next_attempt_at - started
    assert timedelta(seconds=60) <= first_wait <= timedelta(seconds=66)
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "failed", 1, 503, "The receiver answered 503.",
    )

    clock.advance(seconds=59)
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "not due"
    clock.now = delivery.next_attempt_at
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "failed"
    delivery.refresh_from_db()
    assert timedelta(seconds=300) <= delivery.next_attempt_at - clock.now <= timedelta(seconds=330)

    clock.now = delivery.next_attempt_at
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "dead"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    clock.advance(days=1)
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "not due"
    # Three requests, one event id, each signed at its own moment.
    assert len(set(receiver.ids())) == 1
    assert len(receiver.requests) == 3
    assert len({r.headers["Webhook-Timestamp"] for r in receiver.requests}) == 3


def test_retry_delays_follow_the_schedule_and_repeat_its_last_value(settings: Any) -> None:
    settings.WEBHOOKS_BACKOFF = None
    rng = random.Random(7)
    waits = [services.retry_delay(n, rng=rng).total_seconds() for n in range(1, 8)]

    for wait, base in zip(waits, [60, 300, 1800, 7200, 21600, 21600, 21600], strict=True):
        assert base <= wait <= base * 1.1


def test_a_leased_delivery_is_not_sent_twice_and_a_late_outcome_is_dropped(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, settings: Any
) -> None:
    settings.WEBHOOKS_TIMEOUT = 2
    settings.WEBHOOKS_LEASE = 30
    delivery = _one_delivery(manager, receiver, tree, learner, clock)
    claimed = services._claim(delivery.pk, clock.now)  # a worker took it, then died or stalled
    assert claimed is not None
    stale, token = claimed

    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "not due"
    clock.advance(seconds=29)
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "not due"
    assert receiver.requests == []

    clock.advance(seconds=2)  # the lease ran out: another worker sends it
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "succeeded"
    # The first worker's outcome arrives late: not stored over the one that holds.
    assert services._record(stale, token, answer=None, error="timed out", now=clock.now, rng=None) == "lease lost"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("succeeded", 2, 1)


def test_the_sweeper_queues_due_retries_and_what_a_killed_worker_left(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, queue: Broker, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOKS_TIMEOUT = 2
    settings.WEBHOOKS_LEASE = 30
    fresh = _one_delivery(manager, receiver, tree, learner, clock)
    queue.purge_queue()  # the task its creation queued was lost
    claimed = Delivery.objects.create(
        subscription=fresh.subscription, event_id="killed", event_type="lesson_completed", payload={"id": "killed"},
        next_attempt_at=clock.now,
    )
    services._claim(claimed.pk, clock.now)  # a worker took it and was killed
    retry = Delivery.objects.create(
        subscription=fresh.subscription, event_id="retry", event_type="lesson_completed", payload={"id": "retry"},
        status="failed", attempts=1, next_attempt_at=clock.now + timedelta(seconds=60),
    )

    def swept(at: datetime) -> list[int]:
        queue.purge_queue()
        with django_capture_on_commit_callbacks(execute=True):
            services.deliveries_sweep(now=at)
        return sorted(task["kwargs"]["delivery_id"] for task in queued_tasks(queue))

    assert swept(clock.now) == []  # the new one waits for its own task, the claim holds, the retry waits
    assert swept(clock.now + timedelta(seconds=31)) == [claimed.pk]  # the lease ran out
    assert swept(clock.now + timedelta(seconds=61)) == sorted([fresh.pk, claimed.pk, retry.pk])
    Subscription.objects.update(active=False)
    assert swept(clock.now + timedelta(seconds=61)) == []


def test_repeated_failures_switch_the_subscription_off_tell_its_owner_and_resume_when_enabled(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, queue: Broker, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOKS_DISABLE_AFTER = 2
    receiver.default = 500
    delivery = _one_delivery(manager, receiver, tree, learner, clock)
    subscription = delivery.subscription

    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "failed"
    assert Subscription.objects.get().active is True
    clock.now = Delivery.objects.get().next_attempt_at
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "failed"

    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at) == (False, 2, clock.now)
    assert subscription.disabled_reason == (
        "Switched off after 2 failed attempts in a row; the last: The receiver answered 500."
    )
    note = Notification.objects.get(user=manager)
    assert (note.title, note.link) == ("Webhook “CRM” was switched off", f"/admin/webhooks/{subscription.pk}/")
    # Off: its waiting delivery is not sent, and new events make none.
    clock.now = Delivery.objects.get().next_attempt_at
    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "not due"
    payload = {"user_id": learner.pk, "lesson_id": 999, "enrollment_id": 1, "course_id": tree.python.pk}
    assert services.deliveries_for_event(event_type="lesson_completed", payload=payload) == []

    receiver.default = 200
    queue.purge_queue()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.subscription_enable(subscription=subscription, by=manager) == 1
    assert [(t.func, t.result) for t in run_queued_tasks(queue)] == [("plugins.webhooks.tasks.deliver", "succeeded")]
    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at) == (True, 0, None)


def test_replay_sends_the_same_body_and_id_again(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, queue: Broker,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _one_delivery(manager, receiver, tree, learner, clock)
    run_queued_tasks(queue)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.delivery_replay(delivery=Delivery.objects.get(pk=delivery.pk), by=manager)
    assert (delivery.status, delivery.attempts, delivery.replays) == ("pending", 0, 1)
    run_queued_tasks(queue)

    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"]
    assert Delivery.objects.get().status == "succeeded"


def test_replay_of_a_delivery_being_sent_is_refused(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock
) -> None:
    delivery = _one_delivery(manager, receiver, tree, learner, clock)
    services._claim(delivery.pk, timezone.now())

    with pytest.raises(services.InvalidInput, match="being sent right now"):
        services.delivery_replay(delivery=delivery, by=manager)


def test_ping_reaches_the_receiver_signed(
    manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    subscription, secret = subscribe(manager, receiver)

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.ping_send(subscription=subscription, by=manager)
    run_queued_tasks(queue)

    (received,) = receiver.requests
    verify(received, secret)
    assert received.json["type"] == "ping"
    assert received.json["data"] == {"subscription_id": subscription.pk, "name": "CRM"}
    assert received.headers["Webhook-Id"] == delivery.event_id


def test_after_a_rotation_both_secrets_sign_until_the_grace_ends(
    manager: Any, receiver: Receiver, queue: Broker, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    subscription, old = subscribe(manager, receiver)
    new = services.subscription_rotate_secret(subscription=subscription, by=manager, now=clock.now)

    with django_capture_on_commit_callbacks(execute=True):
        services.ping_send(subscription=subscription, by=manager)
    run_queued_tasks(queue)

    assert new != old
    (received,) = receiver.requests
    assert len(received.headers["Webhook-Signature"].split()) == 2
    verify(received, old)
    verify(received, new)
    subscription.refresh_from_db()
    assert subscription.signing_secrets(clock.now + services.ROTATION_GRACE) == [new]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/in", "must use https://"),
        ("https://10.0.0.8/in", "private, loopback or reserved"),
        ("https://127.0.0.1:9000/in", "private, loopback or reserved"),
        ("https://[::1]/in", "private, loopback or reserved"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback or reserved"),
        ("https://localhost/in", "local host name"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
        ("ftp://hooks.example.com/in", "http(s) URL"),
        ("https://hooks.example.com:99999/in", "not a URL"),
        ("", "needs a target URL"),
    ],
)
def test_targets_inside_the_network_or_without_tls_are_refused(manager: Any, url: str, message: str) -> None:
    with pytest.raises(services.InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        services.subscription_create(name="x", target_url=url, event_types=["lesson_completed"], by=manager)
    assert Subscription.objects.count() == 0


def test_a_host_that_resolves_inside_is_refused_when_sending(
    tree: Tree, learner: Any, manager: Any, receiver: Receiver, clock: Clock, settings: Any
) -> None:
    delivery = _one_delivery(manager, receiver, tree, learner, clock)
    settings.WEBHOOKS_PRIVATE_HOSTS = []  # no longer allowed; as if the name now resolved inside
    Subscription.objects.update(target_url="https://localtest.me/hooks")  # a public name for 127.0.0.1

    assert services.delivery_attempt(delivery_id=delivery.pk, clock=clock) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith(("The target's host resolves to a non-public address", "The target's host does not resolve"))
    assert receiver.requests == []
