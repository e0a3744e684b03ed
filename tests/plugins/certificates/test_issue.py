"""Issuing certificates: on course completion, once per learner and course, with a PDF that says
who, what, when, by whom and how to verify it (read back: text and QR code)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone
from django_q.brokers import Broker

from academy.plugins import activation
from learning.models import Enrollment, Notification
from plugins.certificates import services, tasks
from plugins.certificates.models import (
    Certificate,
    CertificateName,
    CertificatePdf,
    CourseCertificateSettings,
)
from realtime.models import Event
from tests.plugins.certificates.conftest import BASE_URL, complete_course, read_pdf
from tests.tasks.conftest import queued_tasks, run_queued_tasks

pytestmark = pytest.mark.django_db

ISSUE_TASK = "plugins.certificates.tasks.issue_certificate"


def _issued(user: Any, course: Any) -> Certificate:
    tasks.issue_certificate(user_id=user.pk, course_id=course.pk)
    return Certificate.objects.get(user=user, course=course)


def test_course_completion_enqueues_one_issue_task_and_it_issues_the_certificate(
    tree: Any, learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        complete_course(learner, tree.python)

    issue = [task for task in queued_tasks(queue) if task["func"] == ISSUE_TASK]
    assert [task["kwargs"] for task in issue] == [{"user_id": learner.pk, "course_id": tree.python.pk}]
    ran = run_queued_tasks(queue)
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["rendered"]
    certificate = Certificate.objects.get()
    assert (certificate.user_id, certificate.course_id, certificate.status) == (learner.pk, tree.python.pk, "valid")
    assert certificate.is_ready is True


def test_pdf_names_the_learner_course_date_issuer_code_and_its_qr_code_opens_the_verify_page(
    tree: Any, learner: Any
) -> None:
    enrollment = complete_course(learner, tree.python)
    certificate = _issued(learner, tree.python)

    pdf = read_pdf(services.certificate_pdf(certificate))

    completed = timezone.localdate(enrollment.completed_at)
    verify = f"{BASE_URL}/certificates/{certificate.code}/"
    assert pdf.pages == 1
    lines = pdf.text.splitlines()
    assert lines[:6] == [
        "ACADEMY OF TESTS",
        "Certificate of Completion",
        "This certifies that",
        "Ada Lovelace",
        "has completed the course",
        "Python basics",
    ]
    assert f"on {completed.day} {completed:%B %Y}" in lines
    assert verify in lines
    assert f"Code {certificate.code}" in lines
    assert "for Academy of Tests" in lines
    assert pdf.qr_codes == [verify]
    assert (certificate.learner_name, certificate.course_title, certificate.issuer, certificate.completed_on) == (
        "Ada Lovelace", "Python basics", "Academy of Tests", completed,
    )


def test_code_is_32_lowercase_base32_characters_and_differs_per_certificate(
    tree: Any, learner: Any, other_learner: Any
) -> None:
    complete_course(learner, tree.python)
    complete_course(other_learner, tree.python)
    codes = [_issued(learner, tree.python).code, _issued(other_learner, tree.python).code]
    assert all(len(code) == 32 and set(code) <= set("abcdefghijklmnopqrstuvwxyz234567") for code in codes)
    assert codes[0] != codes[1]


def test_issue_task_run_twice_leaves_one_certificate_one_pdf_one_announcement(tree: Any, learner: Any) -> None:
    complete_course(learner, tree.python)
    notes_before = Notification.objects.filter(user=learner).count()

    first = tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk)
    code = Certificate.objects.get().code
    second = tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk)

    assert (first, second) == ("rendered", "unchanged")
    assert Certificate.objects.count() == 1
    assert Certificate.objects.get().code == code
    assert CertificatePdf.objects.count() == 1
    assert list(Notification.objects.filter(user=learner).values_list("title", flat=True))[: 1] == [
        "Your certificate for Python basics is ready"
    ]
    assert Notification.objects.filter(user=learner).count() == notes_before + 1
    assert Event.objects.filter(type="certificates.issued").count() == 1


def test_issue_after_a_render_that_died_keeps_the_row_and_code_and_renders_it(tree: Any, learner: Any) -> None:
    complete_course(learner, tree.python)
    created = services.certificate_issue(user_id=learner.pk, course_id=tree.python.pk)  # the render never ran
    assert created is not None and created.is_ready is False
    assert services.certificate_pdf(created) is None

    assert tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk) == "rendered"
    certificate = Certificate.objects.get()
    assert (certificate.pk, certificate.code, certificate.is_ready) == (created.pk, created.code, True)


def test_rendering_twice_gives_the_same_bytes(tree: Any, learner: Any) -> None:
    complete_course(learner, tree.python)
    certificate = _issued(learner, tree.python)
    from plugins.certificates.pdf import render_pdf

    content = services.certificate_content(certificate)
    assert render_pdf(content) == render_pdf(content) == services.certificate_pdf(certificate)


def test_issue_skips_an_enrollment_that_is_not_completed(tree: Any, learner: Any) -> None:
    from learning import services as learning_services

    learning_services.enrollment_request(user=learner, course=tree.python)
    assert tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk) == "skipped"
    assert tasks.issue_certificate(user_id=learner.pk, course_id=987654) == "skipped"
    assert Certificate.objects.count() == 0


def test_name_on_certificates_defaults_to_full_name_then_username_and_a_chosen_name_wins(
    tree: Any, learner: Any, other_learner: Any
) -> None:
    assert services.name_on_certificates(learner) == "Ada Lovelace"
    assert services.name_on_certificates(other_learner) == "bob"
    assert services.certificate_name_set(user=other_learner, name="  Robert   Tables ") == "Robert Tables"
    complete_course(other_learner, tree.python)
    assert _issued(other_learner, tree.python).learner_name == "Robert Tables"
    assert services.certificate_name_set(user=other_learner, name="") == "bob"
    assert CertificateName.objects.filter(user=other_learner).exists() is False


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 121, "The name can be at most 120 characters long."),
        ("Ada\u0000Lovelace", "The name contains characters that cannot be printed."),
        ("Ada\u202eecalevoL", "The name contains characters that cannot be printed."),
    ],
)
def test_name_on_certificates_refuses_bad_names(learner: Any, name: str, message: str) -> None:
    from learning.services import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.certificate_name_set(user=learner, name=name)
    assert refused.value.message == message
    assert CertificateName.objects.count() == 0


def test_course_title_line_and_signature_are_printed(tree: Any, learner: Any) -> None:
    CourseCertificateSettings.objects.create(
        course=tree.python, title_line="Certificate of Achievement", signature_name="Grace Hopper"
    )
    complete_course(learner, tree.python)
    certificate = _issued(learner, tree.python)

    lines = read_pdf(services.certificate_pdf(certificate)).text.splitlines()
    assert lines[1] == "Certificate of Achievement"
    assert "Grace Hopper" in lines
    assert (certificate.title_line, certificate.signature_name) == ("Certificate of Achievement", "Grace Hopper")


def test_certificates_switched_off_for_the_course_issue_nothing(
    tree: Any, learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    activation.set_state("certificates", "off", course_id=tree.python.pk)
    with django_capture_on_commit_callbacks(execute=True):
        complete_course(learner, tree.python)
    assert [task["func"] for task in queued_tasks(queue) if task["func"] == ISSUE_TASK] == []
    assert Enrollment.objects.get(user=learner).status == "completed"


def test_render_pending_certificates_enqueues_only_stalled_unrendered_ones(
    tree: Any, learner: Any, other_learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    complete_course(learner, tree.python)
    complete_course(other_learner, tree.python)
    ready = _issued(learner, tree.python)
    pending = services.certificate_issue(user_id=other_learner.pk, course_id=tree.python.pk)
    queue.purge_queue()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.render_pending_certificates(stalled_seconds=3600) == 0
        Certificate.objects.filter(pk=pending.pk).update(updated_at=timezone.now() - timezone.timedelta(hours=2))
        assert tasks.render_pending_certificates(stalled_seconds=3600) == 1
    assert [task["kwargs"] for task in queued_tasks(queue)] == [{"certificate_id": pending.pk}]
    run_queued_tasks(queue)
    assert Certificate.objects.get(pk=pending.pk).is_ready is True
    assert ready.pk != pending.pk


def test_completed_on_is_the_enrollments_completion_date(tree: Any, learner: Any) -> None:
    enrollment = complete_course(learner, tree.python)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        completed_at=timezone.make_aware(timezone.datetime(2026, 3, 14, 12, 0))
    )
    assert _issued(learner, tree.python).completed_on == date(2026, 3, 14)


def test_issue_missing_certificates_enqueues_recent_completions_without_one_where_certificates_are_on(
    tree: Any, learner: Any, other_learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    lost = complete_course(learner, tree.python)  # its issue task was lost
    old = complete_course(other_learner, tree.python)
    queue.purge_queue()
    now = timezone.now()
    Enrollment.objects.filter(pk=lost.pk).update(completed_at=now - timezone.timedelta(hours=1))
    Enrollment.objects.filter(pk=old.pk).update(completed_at=now - timezone.timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.issue_missing_certificates(stalled_seconds=600) == 1
    assert [task["kwargs"] for task in queued_tasks(queue)] == [{"user_id": learner.pk, "course_id": tree.python.pk}]
    run_queued_tasks(queue)
    assert list(Certificate.objects.values_list("user_id", flat=True)) == [learner.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.issue_missing_certificates(stalled_seconds=600) == 0
    with django_capture_on_commit_callbacks(execute=True):  # the cached activation table is dropped
        activation.set_state("certificates", "off", course_id=tree.python.pk)
    Enrollment.objects.filter(pk=old.pk).update(completed_at=now - timezone.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.issue_missing_certificates(stalled_seconds=600) == 0
