"""Email tasks against a real SMTP server: content, links, headers, once-only delivery."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.mail import get_connection
from django.utils import timezone

from academy.email import EmailInProgress, message_id_for
from academy.models import EmailDelivery
from learning import tasks
from learning.models import Enrollment
from tests.tasks.conftest import SmtpServer, queued_tasks, run_queued_tasks
from tests.tasks.content import build_course, make_enrollment, make_learner

pytestmark = pytest.mark.django_db

BASE_URL = "https://academy.example.com"


@pytest.fixture(autouse=True)
def _public_host(settings: Any) -> None:
    settings.ACADEMY_BASE_URL = BASE_URL
    settings.WAGTAIL_SITE_NAME = "Academy Test"


def _parts(message: Any) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_send_enrollment_email_activated_arrives_with_recipient_subject_links_and_headers(smtp: SmtpServer) -> None:
    tree = build_course()
    learner = make_learner("ada")
    enrollment = make_enrollment(learner, tree.course)

    outcome = tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")

    assert outcome == "sent"
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.envelopes == [("noreply@academy.localhost", ["ada@example.com"])]
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Academy <noreply@academy.localhost>"
    assert message["Subject"] == "You're enrolled in Python Basics"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == message_id_for(
        f"enrollment:{enrollment.pk}:activated:{enrollment.activated_at.isoformat()}"
    )
    assert message.get_content_type() == "multipart/alternative"
    text, html = _parts(message)
    assert f"Start learning: {BASE_URL}/courses/python-basics/" in text
    assert f"Your dashboard: {BASE_URL}/dashboard/" in text
    assert f'href="{BASE_URL}/courses/python-basics/"' in html
    assert "Academy Test" in html
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.recipient, delivery.attempts) == ("sent", "ada@example.com", 1)


def test_send_enrollment_email_requested_for_approval_course(smtp: SmtpServer) -> None:
    tree = build_course(enrollment_mode="approval")
    enrollment = make_enrollment(make_learner("grace"), tree.course, Enrollment.Status.PENDING_APPROVAL)

    assert tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="requested") == "sent"

    assert [m["Subject"] for m in smtp.messages] == ["We received your request to join Python Basics"]
    text, _ = _parts(smtp.messages[0])
    assert "needs a staff member's approval" in text


def test_send_enrollment_email_twice_sends_one_email(smtp: SmtpServer) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course)

    first = tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")
    second = tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")

    assert (first, second) == ("sent", "already_sent")
    assert len(smtp.messages) == 1
    assert EmailDelivery.objects.count() == 1


def test_send_enrollment_email_for_deleted_enrollment_ends_quietly_with_a_log_line(
    smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course)
    enrollment_id = enrollment.pk
    enrollment.delete()

    with caplog.at_level(logging.INFO, logger="learning.tasks"):
        outcome = tasks.send_enrollment_email(enrollment_id=enrollment_id, event="activated")

    assert outcome == "skipped"
    assert smtp.messages == []
    assert EmailDelivery.objects.count() == 0
    assert [r.getMessage() for r in caplog.records if r.name == "learning.tasks"] == [
        f"send_enrollment_email skipped (enrollment deleted): enrollment_id={enrollment_id}"
    ]


def test_send_enrollment_email_after_cancellation_sends_nothing(smtp: SmtpServer) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course, Enrollment.Status.CANCELLED)

    assert tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated") == "skipped"
    assert smtp.messages == []


def test_send_enrollment_email_with_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown enrollment email event 'bogus'"):
        tasks.send_enrollment_email(enrollment_id=1, event="bogus")


def test_send_course_completed_email_links_to_the_catalog(smtp: SmtpServer) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course, Enrollment.Status.COMPLETED)

    assert tasks.send_course_completed_email(enrollment_id=enrollment.pk) == "sent"
    assert tasks.send_course_completed_email(enrollment_id=enrollment.pk) == "already_sent"

    assert [m["Subject"] for m in smtp.messages] == ["Congratulations: you completed Python Basics"]
    text, html = _parts(smtp.messages[0])
    assert f"Find your next course: {BASE_URL}/courses/" in text
    assert f'href="{BASE_URL}/courses/"' in html


def test_send_password_reset_email_for_deleted_user_ends_quietly(smtp: SmtpServer) -> None:
    learner = make_learner("ada")
    user_id = learner.pk
    learner.delete()

    assert tasks.send_password_reset_email(user_id=user_id, request_id="abc") == "skipped"
    assert smtp.messages == []


def test_send_password_reset_email_contains_a_working_absolute_reset_link(smtp: SmtpServer) -> None:
    learner = make_learner("ada")

    assert tasks.send_password_reset_email(user_id=learner.pk, request_id="r1") == "sent"

    message = smtp.messages[0]
    assert message["Subject"] == "Reset your Academy Test password"
    text, html = _parts(message)
    link = re.search(rf"{re.escape(BASE_URL)}(/accounts/reset/[^/\s]+/[^/\s]+/)", text)
    assert link is not None
    assert f'href="{BASE_URL}{link.group(1)}"' in html


def test_smtp_down_raises_for_a_retry_and_a_later_attempt_sends_once(smtp: SmtpServer, settings: Any) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course)
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there

    with pytest.raises(ConnectionRefusedError):
        tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == ("pending", 1, None)

    settings.EMAIL_PORT = working_port
    assert tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated") == "sent"
    assert len(smtp.messages) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    get_connection().close()


def test_an_email_claimed_by_another_live_worker_is_not_sent_twice(smtp: SmtpServer) -> None:
    tree = build_course()
    enrollment = make_enrollment(make_learner("ada"), tree.course)
    key = f"enrollment:{enrollment.pk}:activated:{enrollment.activated_at.isoformat()}"
    EmailDelivery.objects.create(
        key=key, template="enrollment_activated", recipient="ada@example.com",
        claimed_until=timezone.now() + timedelta(minutes=1),
    )

    with pytest.raises(EmailInProgress, match=re.escape(f"email {key} is being sent by another worker")):
        tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")

    assert smtp.messages == []
    EmailDelivery.objects.filter(key=key).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated") == "sent"
    assert len(smtp.messages) == 1


# --- the reconciler: deliveries left pending are enqueued again ----------------------------------

SEND_ENROLLMENT_EMAIL = "learning.tasks.send_enrollment_email"


def _age(delivery: EmailDelivery, seconds: float) -> None:
    """Move the delivery's last attempt ``seconds`` into the past (as if that time had passed)."""
    EmailDelivery.objects.filter(pk=delivery.pk).update(last_attempt_at=timezone.now() - timedelta(seconds=seconds))


def _failed_send(smtp: SmtpServer, settings: Any, enrollment: Enrollment) -> EmailDelivery:
    """One attempt that failed (SMTP refused): the Redis broker would not retry it."""
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    with pytest.raises(ConnectionRefusedError):
        tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")
    settings.EMAIL_PORT = working_port
    get_connection().close()
    return EmailDelivery.objects.get()


def test_send_once_records_the_task_that_sends_the_email_again(smtp: SmtpServer) -> None:
    enrollment = make_enrollment(make_learner("ada"), build_course().course)
    tasks.send_enrollment_email(enrollment_id=enrollment.pk, event="activated")
    delivery = EmailDelivery.objects.get()
    assert (delivery.task, delivery.task_kwargs, delivery.requeues) == (
        SEND_ENROLLMENT_EMAIL, {"enrollment_id": enrollment.pk, "event": "activated"}, 0,
    )
    assert delivery.last_attempt_at is not None


def test_reconciler_enqueues_a_stalled_delivery_again_and_it_is_sent_once(
    smtp: SmtpServer, settings: Any, queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 60}  # stalled after 2 x 60 s
    enrollment = make_enrollment(make_learner("ada"), build_course().course)
    delivery = _failed_send(smtp, settings, enrollment)
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == ("pending", 1, None)

    _age(delivery, 119)  # inside the window: the broker may still retry it
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.resend_stalled_emails() == 0
    _age(delivery, 121)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.resend_stalled_emails() == 1
    assert [(t["func"], t["kwargs"]) for t in queued_tasks(queue)] == [
        (SEND_ENROLLMENT_EMAIL, {"enrollment_id": enrollment.pk, "event": "activated"})
    ]
    # Enqueued again just now: not stalled until another window has passed.
    assert tasks.resend_stalled_emails() == 0

    assert [ran.result for ran in run_queued_tasks(queue)] == ["sent"]
    assert [m["Subject"] for m in smtp.messages] == ["You're enrolled in Python Basics"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.requeues) == ("sent", 2, 1)
    _age(delivery, 10_000)
    assert tasks.resend_stalled_emails() == 0  # sent: never again


def test_reconciler_leaves_fresh_claimed_sent_and_unknown_deliveries_alone(
    settings: Any, django_assert_num_queries: Any
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 60}
    now = timezone.now()
    old = now - timedelta(hours=1)
    task = {"task": SEND_ENROLLMENT_EMAIL, "task_kwargs": {"enrollment_id": 1, "event": "activated"}}
    rows = {
        "fresh": {"last_attempt_at": now - timedelta(seconds=30), **task},
        "claimed": {"last_attempt_at": old, "claimed_until": now + timedelta(minutes=1), **task},
        "sent": {"last_attempt_at": old, "status": EmailDelivery.Status.SENT, **task},
        "no-task": {"last_attempt_at": old},  # written before deliveries named their task
        "gave-up": {"last_attempt_at": old, "requeues": 5, **task},
    }
    for key, fields in rows.items():
        EmailDelivery.objects.create(key=key, template="enrollment_activated", recipient="ada@example.com", **fields)
    with django_assert_num_queries(1):  # the select; nothing stalled, nothing updated
        assert tasks.resend_stalled_emails() == 0


def test_reconciler_costs_one_query_plus_one_per_stalled_delivery(
    settings: Any, django_assert_num_queries: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old = timezone.now() - timedelta(hours=1)
    for number in range(3):
        EmailDelivery.objects.create(
            key=f"stalled-{number}", template="enrollment_activated", recipient="ada@example.com",
            task=SEND_ENROLLMENT_EMAIL, task_kwargs={"enrollment_id": number, "event": "activated"},
        )
    EmailDelivery.objects.update(created_at=old)  # never attempted: counted from its creation
    with django_capture_on_commit_callbacks(execute=False) as enqueues, django_assert_num_queries(1 + 3):
        assert tasks.resend_stalled_emails() == 3
    assert len(enqueues) == 3
    assert sorted(EmailDelivery.objects.values_list("requeues", flat=True)) == [1, 1, 1]


def test_reconciler_gives_up_after_max_attempts_with_a_warning(
    smtp: SmtpServer, settings: Any, queue: Any, caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 60, "max_attempts": 3}
    enrollment = make_enrollment(make_learner("ada"), build_course().course)
    delivery = _failed_send(smtp, settings, enrollment)
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.CANCELLED)  # the task now skips

    results = []
    with caplog.at_level(logging.INFO, logger="academy.email"):
        for _ in range(4):
            _age(delivery, 121)
            with django_capture_on_commit_callbacks(execute=True):
                results.append(tasks.resend_stalled_emails())
            results.extend(ran.result for ran in run_queued_tasks(queue))
    assert results == [1, "skipped", 1, "skipped", 1, "skipped", 0]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.requeues, smtp.messages) == ("pending", 3, [])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"email {delivery.key} enqueued again for the last time (3); if it stays pending, look at it"]
