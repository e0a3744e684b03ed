"""``Idempotency-Key`` on every API POST: a retry replays the first answer and acts once; the key
reused for another request, a bad key and a key still running are clear 4xx; a server error frees
the key; keys are per user and pruned after a day."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from academy import idempotency
from academy.models import IdempotentRequest
from learning.models import Enrollment, LessonProgress, Notification
from tests.courses.helpers import Tree
from tests.learning.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_a_retried_post_replays_the_first_answer_and_acts_once(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    first = client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IDEMPOTENCY_KEY="enroll-1")
    assert first.status_code == 201 and not first.has_header("Idempotent-Replayed")
    again = client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IDEMPOTENCY_KEY="enroll-1")
    # Without the key the second call would answer 200 "already enrolled"; with it, the first 201.
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
    assert Enrollment.objects.filter(user=learner).count() == 1

    done = client.post("/api/v1/progress/", {"lesson_id": tree.lessons[0].pk}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    replay = client.post("/api/v1/progress/", {"lesson_id": tree.lessons[0].pk}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert done.json()["newly_completed"] is True
    assert replay.json() == done.json()  # "newly_completed": true again: the same answer
    assert LessonProgress.objects.filter(user=learner, completed_at__isnull=False).count() == 1


def test_errors_are_replayed_too_and_the_key_is_per_user(tree: Tree, learner: Any, other_learner: Any) -> None:
    client = token_client(learner)
    bad = client.post("/api/v1/enrollments/", {"course_id": 999999}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert bad.status_code == 404
    assert client.post("/api/v1/enrollments/", {"course_id": 999999}, format="json", HTTP_IDEMPOTENCY_KEY="k").json() == bad.json()
    # Another user's identical key is theirs.
    other = token_client(other_learner).post(
        "/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 201


def test_a_key_reused_for_another_request_is_422_and_bad_keys_400(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    reused = client.post("/api/v1/enrollments/", {"course_id": tree.sql.pk}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert not Enrollment.objects.filter(user=learner, course=tree.sql).exists()
    for key in ("x" * 256, "has space", "ünï"):
        response = client.post(
            "/api/v1/enrollments/", {"course_id": tree.sql.pk}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid"), key
    assert not Enrollment.objects.filter(user=learner, course=tree.sql).exists()


def test_a_key_still_running_is_409_until_it_is_abandoned(tree: Tree, learner: Any) -> None:
    print_ = idempotency.fingerprint("POST", "/api/v1/notifications/read-all/", b"")
    row, stored = idempotency.begin(user_id=learner.pk, key="busy", print_=print_)
    assert stored is None
    client = token_client(learner)
    busy = client.post("/api/v1/notifications/read-all/", HTTP_IDEMPOTENCY_KEY="busy")
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "idempotency_key_in_use")
    # Its first request died (no answer after ABANDONED_AFTER): the key runs again.
    IdempotentRequest.objects.filter(pk=row).update(created_at=timezone.now() - idempotency.ABANDONED_AFTER - timedelta(seconds=1))
    assert client.post("/api/v1/notifications/read-all/", HTTP_IDEMPOTENCY_KEY="busy").status_code == 200


@pytest.mark.urls("tests.learning.api.failing_urls")
def test_a_server_error_frees_the_key(learner: Any) -> None:
    client = token_client(learner)
    client.raise_request_exception = False
    failed = client.post("/api/v1/test/fail/", {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert failed.status_code == 500
    # Nothing kept: the retry runs for real (and fails again here, rather than replaying).
    assert not IdempotentRequest.objects.filter(key="retry-me").exists()
    assert client.post("/api/v1/test/fail/", {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me").status_code == 500


def test_keys_are_pruned_after_a_day(learner: Any) -> None:
    idempotency.begin(user_id=learner.pk, key="old", print_="a")
    idempotency.begin(user_id=learner.pk, key="new", print_="b")
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - idempotency.KEEP - timedelta(minutes=1))
    assert idempotency.prune() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_copies_sent_at_once_act_once(tree: Tree, learner: Any) -> None:
    assert connection.vendor == "postgresql"
    client_a, client_b = token_client(learner), token_client(learner)
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def send(client: Any) -> None:
        barrier.wait()
        response = client.post(
            "/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IDEMPOTENCY_KEY="race"
        )
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=send, args=(client,)) for client in (client_a, client_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One ran (201); the other either waited for nothing and replayed it (201) or met it running (409).
    assert sorted(statuses) in ([201, 201], [201, 409])
    assert Enrollment.objects.filter(user=learner).count() == 1
    assert Notification.objects.filter(user=learner).count() <= 1
