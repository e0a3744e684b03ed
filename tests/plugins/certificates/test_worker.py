"""Against a real ``manage.py qcluster`` process: a worker SIGKILLed in the middle of rendering a
certificate. After a restart there is exactly one certificate, with the code drawn before the
kill, its PDF, and one announcement.

The first worker renders with its font at a FIFO that the test holds open without writing: the
render blocks inside reportlab while reading the font, after the certificate row was committed.
The test knows the worker is there when the FIFO has a reader, then kills the whole process
group. Waits are bounded polls that fail on a hang; nothing asserts on elapsed time.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django_q.brokers import Broker
from django_q.models import OrmQ, Success

from learning import services as learning_services
from learning.models import Notification
from plugins.certificates.models import Certificate, CertificatePdf
from realtime.models import Event
from tests.plugins.certificates.conftest import BASE_URL, read_pdf
from tests.tasks.conftest import WorkerProcess, wait_for
from tests.tasks.content import build_course, make_learner

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ISSUE_TASK = "plugins.certificates.tasks.issue_certificate"


@pytest.fixture
def stalled_font(tmp_path: Path) -> Iterator[Path]:
    """A FIFO to use as the certificate font: reading it blocks until the test writes."""
    fifo = tmp_path / "font.ttf"
    os.mkfifo(fifo)
    yield fifo


def _open_writer_when_read(fifo: Path) -> int | None:
    """A write end of ``fifo`` once some process opened it for reading (None before that)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no reader yet
            return None
        raise


def test_worker_killed_mid_render_leaves_one_certificate_with_its_code_rendered_after_restart(
    queue: Broker, worker_factory: Callable[..., WorkerProcess], stalled_font: Path, settings: Any
) -> None:
    settings.ACADEMY_BASE_URL = BASE_URL
    tree = build_course(lessons=2)
    learner = make_learner("ada")
    learning_services.enrollment_request(user=learner, course=tree.course)
    common = {"ACADEMY_BASE_URL": BASE_URL, "ACADEMY_SITE_NAME": "Academy of Tests"}
    # The lease of a task taken by the first worker ends RETRY seconds later; the stall ends
    # with the kill, long before TIMEOUT.
    first = worker_factory(
        ACADEMY_TASK_TIMEOUT="20", ACADEMY_TASK_RETRY="25", ACADEMY_CERTIFICATES_FONT=str(stalled_font), **common
    )
    first.start()

    for lesson in tree.lessons:  # the last one -> course_completed -> the issue task
        learning_services.lesson_progress_record(user=learner, lesson=lesson, completed=True)

    writer = wait_for(lambda: _open_writer_when_read(stalled_font), "the worker to start rendering", first)
    try:
        # Mid-render: the certificate row (and its code) is committed, the PDF is not.
        certificate = Certificate.objects.get()
        assert (certificate.user_id, certificate.course_id, certificate.rendered_revision) == (learner.pk, tree.course.pk, 0)
        first.kill()
    finally:
        os.close(writer)
    code = certificate.code
    assert CertificatePdf.objects.count() == 0
    assert ISSUE_TASK in [row.func() for row in OrmQ.objects.all()]  # not lost with the worker
    assert not Success.objects.filter(func=ISSUE_TASK).exists()

    # A restarted worker (normal font) takes the task again once its lease ran out.
    second = worker_factory(ACADEMY_TASK_TIMEOUT="2", ACADEMY_TASK_RETRY="5", **common)
    second.start()
    wait_for(
        lambda: Success.objects.filter(func=ISSUE_TASK).exists() and OrmQ.objects.count() == 0,
        "the issue task to succeed after the restart",
        second,
    )

    certificate = Certificate.objects.get()
    assert (certificate.code, certificate.revision, certificate.rendered_revision) == (code, 1, 1)
    pdf = read_pdf(bytes(CertificatePdf.objects.get().content))
    assert "ada" in pdf.text.splitlines()
    assert f"Code {code}" in pdf.text.splitlines()
    assert pdf.qr_codes == [f"{BASE_URL}/certificates/{code}/"]
    assert Notification.objects.filter(user=learner, title__startswith="Your certificate").count() == 1
    assert Event.objects.filter(type="certificates.issued").count() == 1
