"""Password reset: the request queues the email and answers at once; the link in it works."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_q.brokers import Broker
from django_q.conf import Conf

from tests.tasks.conftest import SmtpServer, queued_tasks, run_queued_tasks
from tests.tasks.content import make_learner

pytestmark = pytest.mark.django_db

BASE_URL = "https://academy.example.com"
NEW_PASSWORD = "a-brand-new-Passw0rd-42"


@pytest.fixture(autouse=True)
def _public_host(settings: Any) -> None:
    settings.ACADEMY_BASE_URL = BASE_URL


def test_password_reset_form_renders_an_accessible_form(client: Client) -> None:
    response = client.get(reverse("password_reset"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="form-card"' in html
    assert '<label for="id_email">Email address</label>' in html
    assert 'autocomplete="email"' in html
    assert response.templates[0].name == "registration/password_reset_form.html"


@pytest.mark.parametrize("broker_name", ["orm", pytest.param("redis", marks=pytest.mark.redis)], indirect=True)
def test_password_reset_post_queues_one_task_with_ids_only_and_sends_nothing_inline(
    client: Client, queue: Broker, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    learner = make_learner("ada")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "ADA@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert smtp.messages == []
    tasks = queued_tasks(queue)
    assert [(t["func"], sorted(t["kwargs"]), t["args"]) for t in tasks] == [
        ("learning.tasks.send_password_reset_email", ["request_id", "user_id"], ())
    ]
    assert tasks[0]["kwargs"]["user_id"] == learner.pk
    assert re.fullmatch(r"[0-9a-f]{32}", tasks[0]["kwargs"]["request_id"])


def test_password_reset_for_an_unknown_address_looks_the_same_and_queues_nothing(
    client: Client, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    make_learner("ada")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert queued_tasks(queue) == []


def test_password_reset_with_a_malformed_address_is_a_400_with_the_error(
    client: Client, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "not-an-address"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert queued_tasks(queue) == []


def test_password_reset_done_page_says_to_check_the_inbox(client: Client) -> None:
    response = client.get(reverse("password_reset_done"))

    assert response.status_code == 200
    assert "Check your email" in response.content.decode()


def test_two_reset_requests_send_two_emails_and_the_queue_runs_each_once(
    client: Client, queue: Broker, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    make_learner("ada")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "ada@example.com"})
        client.post(reverse("password_reset"), {"email": "ada@example.com"})

    ran = run_queued_tasks(queue)

    assert [task.result for task in ran] == ["sent", "sent"]
    assert len(smtp.messages) == 2


def test_password_reset_end_to_end_sets_the_new_password(
    client: Client, queue: Broker, smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    learner = make_learner("ada")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "ada@example.com"})
    run_queued_tasks(queue)
    text = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(BASE_URL)}(/accounts/reset/\S+/\S+/)", text)
    assert link is not None

    confirm = client.get(link.group(1))
    assert confirm.status_code == 302
    form_page = client.get(confirm["Location"])
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(confirm["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    assert "Your password is set" in client.get(done["Location"]).content.decode()

    learner.refresh_from_db()
    assert learner.check_password(NEW_PASSWORD)
    # The link works once.
    again = client.get(link.group(1))
    assert again.status_code == 200
    assert "This reset link no longer works" in again.content.decode()


def test_password_change_pages_for_a_logged_in_learner(client: Client) -> None:
    learner = make_learner("ada")
    client.force_login(learner)

    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert "Change your password" in page.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": "correct-horse-battery-9", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_change_done")
    assert "Password changed" in client.get(done["Location"]).content.decode()
    assert get_user_model().objects.get(pk=learner.pk).check_password(NEW_PASSWORD)


def test_password_reset_answers_even_when_the_broker_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_learner("ada")
    # Nothing listens on port 1: the Redis broker refuses the connection.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0?socket_connect_timeout=1")

    with caplog.at_level("ERROR", logger="academy.tasks"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "ada@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert [r.getMessage().split(" {")[0] for r in caplog.records if r.name == "academy.tasks"] == [
        "could not enqueue task learning.tasks.send_password_reset_email"
    ]
