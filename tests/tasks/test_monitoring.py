"""Monitoring: Django-Q2's admin pages for staff, and the broker readiness check."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_q.conf import Conf

from academy.tasks import BrokerStatus, task_broker_status
from tests.tasks.content import make_learner

pytestmark = pytest.mark.django_db

QUEUE_PAGES = [
    "/django-admin/django_q/ormq/",
    "/django-admin/django_q/failure/",
    "/django-admin/django_q/success/",
    "/django-admin/django_q/schedule/",
    "/django-admin/academy/emaildelivery/",
]


@pytest.mark.parametrize("path", QUEUE_PAGES)
def test_task_queue_admin_pages_open_for_staff(client: Client, path: str) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-admin-password-1")
    client.force_login(admin)
    # Django-Q2 lists queued tasks only for the ORM broker (with Redis they live in Redis).
    queued_listed = path != "/django-admin/django_q/ormq/" or settings.TASK_BROKER == "orm"

    assert client.get(path).status_code == (200 if queued_listed else 404)


def test_task_queue_admin_is_closed_to_learners(client: Client) -> None:
    client.force_login(make_learner("ada"))

    response = client.get("/django-admin/django_q/failure/")

    assert response.status_code == 302
    assert response["Location"].startswith("/django-admin/login/")


def test_task_broker_status_orm_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "ORM", "default")

    assert task_broker_status() == BrokerStatus(ok=True, broker="orm", detail="ok", queued=0)


@pytest.mark.redis
def test_task_broker_status_redis_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "ORM", None)

    status = task_broker_status()

    assert (status.ok, status.broker, status.detail) == (True, "redis", "ok")


def test_task_broker_status_reports_an_unreachable_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0?socket_connect_timeout=1")

    status = task_broker_status()

    assert (status.ok, status.broker, status.queued) == (False, "redis", None)
    assert status.detail.startswith("ConnectionError: ")
