"""The webhooks API under /api/v1/p/webhooks/: site-level permissions, the house contract
(unknown fields 400, the error shape, cursor pagination), the secret only in the answers that
make it, and replay / ping / enable through the same services as the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django_q.brokers import Broker

from plugins.webhooks import services
from plugins.webhooks.models import Delivery, Subscription
from tests.learning.api.conftest import token_client
from tests.learning.conftest import make_user
from tests.plugins.webhooks.conftest import Receiver
from tests.tasks.conftest import run_queued_tasks

pytestmark = pytest.mark.django_db

BASE = "/api/v1/p/webhooks"


def _create(client: Any, receiver: Receiver, **extra: Any) -> Any:
    body = {"name": "CRM", "target_url": receiver.url, "event_types": ["course_completed", "lesson_completed"], **extra}
    return client.post(f"{BASE}/subscriptions/", body, format="json")


def test_a_manager_creates_a_subscription_and_sees_its_secret_once(manager: Any, receiver: Receiver) -> None:
    client = token_client(manager)

    created = _create(client, receiver)
    listed = client.get(f"{BASE}/subscriptions/")
    one = client.get(f"{BASE}/subscriptions/{created.json()['id']}/")

    assert created.status_code == 201
    body = created.json()
    subscription = Subscription.objects.get()
    assert body["secret"] == subscription.secret and body["secret"].startswith("whsec_")
    # The catalog's order, whatever order they were asked in.
    assert (body["event_types"], body["course_id"], body["active"]) == (["lesson_completed", "course_completed"], None, True)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [subscription.pk]
    assert "secret" not in listed.json()["results"][0]
    assert one.status_code == 200 and "secret" not in one.json()


@pytest.mark.parametrize(
    ("extra", "field_or_message"),
    [
        ({"colour": "red"}, "colour"),
        ({"event_types": ["lesson_started"]}, "Unknown event types: lesson_started"),
        ({"event_types": []}, "event_types"),
        ({"target_url": "http://hooks.example.com/in"}, "must use https://"),
        ({"target_url": "https://192.168.1.10/in"}, "private, loopback or reserved"),
        ({"course_id": 999999}, "no such course"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(manager: Any, receiver: Receiver, extra: dict[str, Any], field_or_message: str) -> None:
    answer = _create(token_client(manager), receiver, **extra)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert field_or_message in error["fields"] or field_or_message in error["message"]
    assert Subscription.objects.count() == 0


def test_who_may_use_the_api(manager: Any, viewer_user: Any, receiver: Receiver) -> None:
    subscription, _ = services.subscription_create(
        name="CRM", target_url=receiver.url, event_types=["lesson_completed"], by=manager
    )
    learner = make_user("ada")
    anonymous = token_client(learner)
    anonymous.credentials()

    assert anonymous.get(f"{BASE}/subscriptions/").status_code == 401
    assert token_client(learner).get(f"{BASE}/subscriptions/").status_code == 403
    assert token_client(learner).get(f"{BASE}/deliveries/").status_code == 403
    watcher = token_client(viewer_user)
    assert watcher.get(f"{BASE}/subscriptions/").status_code == 200
    assert watcher.get(f"{BASE}/deliveries/").status_code == 200
    refused = watcher.patch(f"{BASE}/subscriptions/{subscription.pk}/", {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert _create(watcher, receiver).status_code == 403
    assert watcher.post(f"{BASE}/subscriptions/{subscription.pk}/ping/", {}, format="json").status_code == 403
    assert Subscription.objects.get().name == "CRM"
    assert Delivery.objects.count() == 0


def test_unknown_and_huge_ids_are_json_404s(manager: Any) -> None:
    client = token_client(manager)

    for path in ("subscriptions/12345/", "deliveries/12345/", f"subscriptions/{'9' * 30}/"):
        answer = client.get(f"{BASE}/{path}")
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"


def test_change_rotate_and_delete(manager: Any, receiver: Receiver) -> None:
    client = token_client(manager)
    pk = _create(client, receiver).json()["id"]
    old = Subscription.objects.get().secret

    changed = client.patch(f"{BASE}/subscriptions/{pk}/", {"name": "CRM 2", "active": False}, format="json")
    rotated = client.post(f"{BASE}/subscriptions/{pk}/rotate-secret/", {}, format="json")
    refused = client.post(f"{BASE}/subscriptions/{pk}/rotate-secret/", {"secret": "mine"}, format="json")

    assert (changed.status_code, changed.json()["name"], changed.json()["active"]) == (200, "CRM 2", False)
    assert rotated.status_code == 200
    subscription = Subscription.objects.get()
    assert rotated.json()["secret"] == subscription.secret != old
    assert subscription.previous_secret == old
    assert refused.status_code == 400 and "secret" in refused.json()["error"]["fields"]
    assert client.delete(f"{BASE}/subscriptions/{pk}/").status_code == 204
    assert Subscription.objects.count() == 0


def test_ping_the_log_and_replay(
    manager: Any, receiver: Receiver, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    client = token_client(manager)
    pk = _create(client, receiver).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        pinged = client.post(f"{BASE}/subscriptions/{pk}/ping/", {}, format="json")
    run_queued_tasks(queue)
    log = client.get(f"{BASE}/deliveries/", {"subscription": pk, "status": "succeeded", "event_type": "ping"})
    none = client.get(f"{BASE}/deliveries/", {"status": "dead"})
    bad = client.get(f"{BASE}/deliveries/", {"status": "lost"})
    with django_capture_on_commit_callbacks(execute=True):
        replayed = client.post(f"{BASE}/deliveries/{pinged.json()['id']}/replay/", {}, format="json")
    run_queued_tasks(queue)

    assert pinged.status_code == 202
    assert [(row["id"], row["event_type"], row["status"], row["attempts"]) for row in log.json()["results"]] == [
        (pinged.json()["id"], "ping", "succeeded", 1),
    ]
    assert none.json()["results"] == []
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    assert (replayed.status_code, replayed.json()["status"], replayed.json()["replays"]) == (202, "pending", 1)
    assert receiver.ids() == [pinged.json()["event_id"]] * 2
    assert Delivery.objects.get().status == "succeeded"


def test_the_api_is_a_404_while_the_plugin_is_off(manager: Any) -> None:
    from academy.sdk import set_plugin_state

    set_plugin_state("webhooks", "off")

    answer = token_client(manager).get(f"{BASE}/subscriptions/")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
