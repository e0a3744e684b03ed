"""Settings > Webhooks in the Wagtail admin: who may see and act, the secret shown once, the
delivery log's filters, replay, ping, re-enable, and the home panel of switched-off webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_q.brokers import Broker

from plugins.webhooks import services
from plugins.webhooks.models import Delivery, Subscription
from tests.learning.conftest import make_user
from tests.plugins.webhooks.conftest import Receiver
from tests.tasks.conftest import run_queued_tasks

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused(answer: Any) -> bool:
    """Wagtail's admin answers a PermissionDenied with a redirect to its home and a message."""
    return answer.status_code == 302 and answer["Location"] == "/admin/"


def _subscription(manager: Any, receiver: Receiver) -> Subscription:
    subscription, _ = services.subscription_create(
        name="CRM", target_url=receiver.url, event_types=["lesson_completed"], by=manager
    )
    return subscription


def test_adding_a_webhook_shows_its_secret_once(manager: Any, receiver: Receiver) -> None:
    client = logged_in(manager)

    form = client.get("/admin/webhooks/add/")
    added = client.post("/admin/webhooks/add/", {
        "name": "CRM", "target_url": receiver.url, "event_types": ["lesson_completed", "certificates_issued"],
        "course": "", "active": "on",
    })
    subscription = Subscription.objects.get()
    detail = client.get(f"/admin/webhooks/{subscription.pk}/")

    assert form.status_code == 200
    assert added.status_code == 200
    assert "no-store" in added["Cache-Control"]
    assert subscription.secret in added.content.decode()
    assert (subscription.name, subscription.event_types, subscription.created_by) == (
        "CRM", ["lesson_completed", "certificates_issued"], manager,
    )
    assert detail.status_code == 200
    assert subscription.secret not in detail.content.decode()


def test_a_refused_target_is_a_form_error(manager: Any) -> None:
    answer = logged_in(manager).post("/admin/webhooks/add/", {
        "name": "CRM", "target_url": "https://10.1.2.3/hooks", "event_types": ["lesson_completed"],
    })

    assert answer.status_code == 200
    assert "must not be a private, loopback or reserved address" in answer.content.decode()
    assert Subscription.objects.count() == 0


def test_who_may_see_and_act(manager: Any, viewer_user: Any, receiver: Receiver) -> None:
    subscription = _subscription(manager, receiver)
    learner = make_user("ada")
    watcher = logged_in(viewer_user)

    assert logged_in(learner).get("/admin/webhooks/").status_code == 302  # to the admin's login
    assert watcher.get("/admin/webhooks/").status_code == 200
    assert watcher.get(f"/admin/webhooks/{subscription.pk}/").status_code == 200
    assert watcher.get("/admin/webhooks/deliveries/").status_code == 200
    assert refused(watcher.get("/admin/webhooks/add/"))
    assert refused(watcher.get(f"/admin/webhooks/{subscription.pk}/edit/"))
    assert refused(watcher.post(f"/admin/webhooks/{subscription.pk}/ping/"))
    assert refused(watcher.post(f"/admin/webhooks/{subscription.pk}/delete/"))
    assert Delivery.objects.count() == 0 and Subscription.objects.count() == 1
    assert logged_in(manager).get(f"/admin/webhooks/{subscription.pk}/ping/").status_code == 405
    assert logged_in(manager).get("/admin/webhooks/999/").status_code == 404
    assert logged_in(manager).get(f"/admin/webhooks/{'9' * 30}/").status_code == 404


def test_the_log_filters_and_replay(
    manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    subscription = _subscription(manager, receiver)
    client = logged_in(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/webhooks/{subscription.pk}/ping/")
    run_queued_tasks(queue)
    delivery = Delivery.objects.get()

    succeeded = client.get("/admin/webhooks/deliveries/", {"status": "succeeded"}).content.decode()
    dead = client.get("/admin/webhooks/deliveries/", {"status": "dead"}).content.decode()
    shown = client.get(f"/admin/webhooks/deliveries/{delivery.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        replayed = client.post(f"/admin/webhooks/deliveries/{delivery.pk}/replay/")
    run_queued_tasks(queue)

    assert f'data-delivery-id="{delivery.pk}"' in succeeded
    assert "data-delivery-id" not in dead
    assert delivery.event_id in shown
    assert replayed.status_code == 302
    assert receiver.ids() == [delivery.event_id] * 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.replays) == ("succeeded", 1)


def test_a_switched_off_webhook_is_on_the_admin_home_until_switched_on(
    manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    subscription = _subscription(manager, receiver)
    Subscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason="Switched off after 15 failed attempts in a row", consecutive_failures=15,
    )
    client = logged_in(manager)

    home = client.get("/admin/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        enabled = client.post(f"/admin/webhooks/{subscription.pk}/enable/")
    after = client.get("/admin/").content.decode()

    assert "data-webhooks-disabled" in home and "CRM" in home
    assert enabled.status_code == 302
    assert "data-webhooks-disabled" not in after
    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures, subscription.disabled_at) == (True, 0, None)


def test_rotate_shows_the_new_secret_once_and_delete_removes_the_log(manager: Any, receiver: Receiver) -> None:
    subscription = _subscription(manager, receiver)
    client = logged_in(manager)

    rotated = client.post(f"/admin/webhooks/{subscription.pk}/rotate/")
    subscription.refresh_from_db()
    confirm = client.get(f"/admin/webhooks/{subscription.pk}/delete/")
    deleted = client.post(f"/admin/webhooks/{subscription.pk}/delete/")

    assert subscription.secret in rotated.content.decode()
    assert confirm.status_code == 200
    assert deleted.status_code == 302
    assert Subscription.objects.count() == 0
