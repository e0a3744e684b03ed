"""Against a real ``manage.py qcluster`` process on the committed test database.

- Django's password reset answers before a stalled SMTP server accepts the mail, and the mail
  arrives once it recovers.
- A worker SIGKILLed in the middle of sending an email: after a restart the task completes and
  exactly one email is sent (ORM broker: the task stays in the queue until it ran). On the Redis
  broker the task is gone with the worker; the reconciler enqueues it again: exactly one email.
- A task that always fails stops after ``max_attempts`` and is kept as a failure; the healthy
  tasks queued behind it run.
- An enrollment made through the service reaches the learner's inbox through the worker.

Waits are bounded polls that fail the test on a hang; nothing asserts on elapsed time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import Broker
from django_q.models import Failure, OrmQ, Success
from django_q.tasks import async_task

from academy.models import EmailDelivery
from learning.services import enrollment_request
from learning.tasks import resend_stalled_emails
from tests.tasks.conftest import SmtpServer, WorkerProcess, wait_for
from tests.tasks.content import build_course, make_learner

# serialized_rollback: the flush after each test would otherwise also remove the data that the
# migrations made (Wagtail root page, site, locale) for the tests that run after these.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BOTH_BROKERS = ["orm", pytest.param("redis", marks=pytest.mark.redis)]
BASE_URL = "https://academy.example.com"

Factory = Callable[..., WorkerProcess]


@pytest.fixture(autouse=True)
def _public_host(settings: Any) -> None:
    settings.ACADEMY_BASE_URL = BASE_URL


@pytest.mark.parametrize("broker_name", BOTH_BROKERS, indirect=True)
def test_password_reset_answers_while_smtp_is_stalled_and_the_mail_arrives_after_recovery(
    queue: Broker, worker_factory: Factory, smtp: SmtpServer, client: Client
) -> None:
    learner = make_learner("ada")
    worker = worker_factory(smtp, ACADEMY_BASE_URL=BASE_URL, ACADEMY_TASK_TIMEOUT="30", ACADEMY_TASK_RETRY="60")
    worker.start()
    smtp.stall(seconds=5)

    response = client.post(reverse("password_reset"), {"email": "ada@example.com"})
    smtp.note("response")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    wait_for(lambda: smtp.messages, "the reset email", worker)
    assert smtp.timeline.index("response") < smtp.timeline.index("mail")
    assert "smtp-stalled" in smtp.timeline
    assert smtp.timeline[-1] == "mail"
    message = smtp.messages[0]
    assert message["To"] == "ada@example.com"
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(BASE_URL)}/accounts/reset/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/", text)
    assert link is not None
    # The link works in this process: the token the worker made is the one Django checks.
    confirm = client.get(link.group(0).removeprefix(BASE_URL))
    assert confirm.status_code == 302
    assert confirm["Location"] == f"/accounts/reset/{link.group('uid')}/set-password/"
    # The server has the mail before the worker hears "250 OK" and records the delivery as sent.
    wait_for(lambda: EmailDelivery.objects.filter(status="sent").exists(), "the delivery to be recorded", worker)
    assert list(EmailDelivery.objects.values_list("recipient", "status")) == [(learner.email, "sent")]


def queued(func: str) -> int:
    """How many rows of the ORM queue carry a task of ``func`` (building the course queues
    Wagtail's own tasks too, which a slow worker may not have acknowledged yet)."""
    return sum(1 for row in OrmQ.objects.all() if row.task.get("func") == func)


def test_worker_killed_mid_email_completes_after_restart_with_exactly_one_email(
    queue: Broker, worker_factory: Factory, smtp: SmtpServer
) -> None:
    tree = build_course()
    learner = make_learner("ada")
    # Short timeout and retry so the re-delivery comes quickly; retry > timeout as in production.
    timing = {"ACADEMY_TASK_TIMEOUT": "2", "ACADEMY_TASK_RETRY": "5", "ACADEMY_BASE_URL": BASE_URL}
    first = worker_factory(smtp, **timing)
    smtp.stall()  # hold the SMTP conversation: the task is mid-send when the worker dies
    first.start()

    result = enrollment_request(user=learner, course=tree.course)  # -> enrollment_activated -> task

    func = "learning.tasks.send_enrollment_email"
    wait_for(smtp.recipient_seen.is_set, "the worker to start sending", first)
    first.kill()
    assert queued(func) == 1  # the task was not lost with the worker
    assert smtp.messages == []
    smtp.recover()

    second = worker_factory(smtp, **timing)
    second.start()

    # The worker records the success, then acknowledges (deletes) the queued row: wait for both.
    wait_for(
        lambda: Success.objects.filter(func=func).exists() and queued(func) == 0,
        "the task to succeed and leave the queue",
        second,
    )
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["Subject"] == "You're enrolled in Python Basics"
    assert queued(func) == 0
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.recipient) == ("sent", 2, "ada@example.com")
    assert result.enrollment.status == "active"


@pytest.mark.redis
@pytest.mark.parametrize("broker_name", ["redis"], indirect=True)
def test_worker_killed_mid_email_on_redis_loses_the_task_and_the_reconciler_sends_exactly_one(
    queue: Broker, worker_factory: Factory, smtp: SmtpServer, settings: Any
) -> None:
    tree = build_course()
    learner = make_learner("ada")
    timing = {"ACADEMY_TASK_TIMEOUT": "2", "ACADEMY_TASK_RETRY": "5", "ACADEMY_BASE_URL": BASE_URL}
    # The reconciler (run here) with the workers' retry window: stalled after 2 x 5 s.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 5}
    first = worker_factory(smtp, **timing)
    smtp.stall()  # hold the SMTP conversation: the task is mid-send when the worker dies
    first.start()

    enrollment_request(user=learner, course=tree.course)  # -> enrollment_activated -> task

    wait_for(smtp.recipient_seen.is_set, "the worker to start sending", first)
    first.kill()
    smtp.recover()
    second = worker_factory(smtp, **timing)
    second.start()
    # The Redis broker handed the task out and forgot it: nothing to run after the restart.
    assert queue.queue_size() == 0
    delivery = EmailDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.requeues) == ("pending", 1, 0)
    assert smtp.messages == []

    stalled_at = delivery.last_attempt_at + timedelta(seconds=2 * 5)
    wait_for(lambda: timezone.now() > stalled_at and delivery.claimed_until < timezone.now(), "the retry window to pass")
    assert resend_stalled_emails() == 1  # the scheduled task's function

    func = "learning.tasks.send_enrollment_email"
    wait_for(
        lambda: Success.objects.filter(func=func).exists() and EmailDelivery.objects.filter(status="sent").exists(),
        "the re-enqueued task to send and record the email",
        second,
    )
    assert [(m["To"], m["Subject"]) for m in smtp.messages] == [("ada@example.com", "You're enrolled in Python Basics")]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.requeues) == ("sent", 2, 1)
    assert resend_stalled_emails() == 0
    assert queue.queue_size() == 0
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("broker_name", "attempts"), [("orm", 3), pytest.param("redis", 1, marks=pytest.mark.redis)], indirect=["broker_name"]
)
def test_always_failing_task_stops_after_max_attempts_while_healthy_tasks_run(
    queue: Broker, worker_factory: Factory, tmp_path: Path, attempts: int
) -> None:
    log = tmp_path / "runs.log"
    worker = worker_factory(ACADEMY_TASK_TIMEOUT="2", ACADEMY_TASK_RETRY="3", ACADEMY_TASK_MAX_ATTEMPTS="3")
    async_task("tests.tasks.worker_funcs.always_fails", str(log), broker=queue)
    for number in (1, 2, 3):
        async_task("tests.tasks.worker_funcs.healthy", str(log), number, broker=queue)
    # An email about an enrollment that no longer exists: ends quietly, succeeds once, no retry.
    async_task("learning.tasks.send_enrollment_email", enrollment_id=987654, event="activated", broker=queue)
    worker.start()

    def settled() -> bool:
        failure = Failure.objects.filter(func="tests.tasks.worker_funcs.always_fails").first()
        return (
            failure is not None
            and failure.attempt_count == attempts
            and Success.objects.count() == 4
            and queue.queue_size() == 0
            and OrmQ.objects.count() == 0
        )

    wait_for(settled, "the failing task to give up", worker)
    lines = log.read_text().splitlines()
    assert lines == ["attempt", "healthy 1", "healthy 2", "healthy 3"] + ["attempt"] * (attempts - 1)
    failure = Failure.objects.get()
    assert (failure.success, failure.attempt_count) == (False, attempts)
    assert "this task always fails" in failure.result
    assert sorted(task.result for task in Success.objects.filter(func="tests.tasks.worker_funcs.healthy")) == [1, 2, 3]
    gone = Success.objects.get(func="learning.tasks.send_enrollment_email")
    assert (gone.result, gone.attempt_count) == ("skipped", 1)
    assert EmailDelivery.objects.count() == 0


@pytest.mark.parametrize("broker_name", BOTH_BROKERS, indirect=True)
def test_enrollment_through_the_service_reaches_the_learner_by_email(
    queue: Broker, worker_factory: Factory, smtp: SmtpServer
) -> None:
    tree = build_course(title="Data Science", slug="data-science")
    learner = make_learner("grace")
    worker = worker_factory(smtp, ACADEMY_BASE_URL=BASE_URL)
    worker.start()

    enrollment_request(user=learner, course=tree.course)

    wait_for(lambda: smtp.messages, "the welcome email", worker)
    assert [(m["To"], m["Subject"]) for m in smtp.messages] == [("grace@example.com", "You're enrolled in Data Science")]
    text = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert f"Start learning: {BASE_URL}/courses/data-science/" in text
