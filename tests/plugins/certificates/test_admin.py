"""Staff revoke (with a reason) and reissue certificates in the Wagtail admin; both are in the
audit trail and the learner is notified. Editors give a course its own title line and signature."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_q.brokers import Broker
from wagtail.models import ModelLogEntry

from learning.models import Notification
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate, CourseCertificateSettings
from realtime.models import Event
from tests.plugins.certificates.conftest import complete_course, make_user
from tests.tasks.conftest import queued_tasks, run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(tree: Any, learner: Any) -> Certificate:
    """Ada's rendered certificate for Python basics."""
    complete_course(learner, tree.python)
    tasks.issue_certificate(user_id=learner.pk, course_id=tree.python.pk)
    return Certificate.objects.get(user=learner)


@pytest.fixture
def admin_client(manager: Any) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_listing_and_detail_show_the_certificate(admin_client: Client, certificate: Certificate) -> None:
    assert admin_client.get("/admin/certificates/", {"q": "ada\x00"}).status_code == 200
    listing = admin_client.get("/admin/certificates/", {"q": "lovelace"})
    assert listing.status_code == 200
    assert f'data-certificate-id="{certificate.pk}"' in listing.content.decode()
    assert admin_client.get("/admin/certificates/", {"q": "nobody"}).content.decode().count("data-certificate-id") == 0
    detail = admin_client.get(f"/admin/certificates/{certificate.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "data-revoke-form" in html and "data-reissue-form" in html
    assert f"/certificates/{certificate.code}/" in html


def test_revoke_with_reason_is_audited_notified_pushed_and_verified_as_revoked(
    admin_client: Client, certificate: Certificate, manager: Any, learner: Any
) -> None:
    response = admin_client.post(f"/admin/certificates/{certificate.pk}/revoke/", {"reason": "  Plagiarised   project "})

    assert response.status_code == 302
    certificate.refresh_from_db()
    assert (certificate.status, certificate.revoked_reason, certificate.revoked_by_id) == (
        "revoked", "Plagiarised project", manager.pk,
    )
    entry = ModelLogEntry.objects.get(action="certificates.revoke")
    assert (entry.object_id, entry.user_id, entry.label) == (str(certificate.pk), manager.pk, "Ada Lovelace: Python basics")
    assert entry.data == {
        "certificate_id": certificate.pk, "learner_id": learner.pk, "course_id": certificate.course_id,
        "revision": 1, "reason": "Plagiarised project",
    }
    note = Notification.objects.filter(user=learner).order_by("-pk").first()
    assert (note.kind, note.title, note.body, note.link) == (
        "announcement", "Your certificate for Python basics was revoked", "Reason: Plagiarised project",
        f"/certificates/{certificate.code}/",
    )
    pushed = Event.objects.get(type="certificates.revoked")
    assert pushed.data == {
        "course_id": certificate.course_id, "status": "revoked", "ready": True,
        "download_url": f"/p/certificates/{certificate.code}/download/", "verify_url": f"/certificates/{certificate.code}/",
    }
    assert 'data-status="revoked"' in Client().get(f"/certificates/{certificate.code}/").content.decode()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001, "bad\x00byte"])
def test_revoke_without_a_reason_or_with_a_huge_one_changes_nothing(
    admin_client: Client, certificate: Certificate, reason: str
) -> None:
    response = admin_client.post(f"/admin/certificates/{certificate.pk}/revoke/", {"reason": reason}, follow=True)
    assert response.status_code == 200
    certificate.refresh_from_db()
    assert certificate.status == "valid"
    assert ModelLogEntry.objects.filter(action="certificates.revoke").count() == 0


def test_revoke_twice_is_a_conflict(certificate: Certificate, manager: Any) -> None:
    from learning.services import Conflict

    services.certificate_revoke(certificate=certificate, by=manager, reason="Mistake")
    with pytest.raises(Conflict):
        services.certificate_revoke(certificate=certificate, by=manager, reason="Again")
    assert ModelLogEntry.objects.filter(action="certificates.revoke").count() == 1


def test_reissue_keeps_the_code_takes_the_new_name_and_notifies_when_rendered(
    admin_client: Client, certificate: Certificate, manager: Any, learner: Any, queue: Broker,
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.certificate_revoke(certificate=certificate, by=manager, reason="Wrong name")
    services.certificate_name_set(user=learner, name="Augusta Ada King")
    CourseCertificateSettings.objects.create(course_id=certificate.course_id, title_line="Certificate of Achievement")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/certificates/{certificate.pk}/reissue/")

    assert response.status_code == 302
    reissued = Certificate.objects.get(pk=certificate.pk)
    assert (reissued.code, reissued.status, reissued.revision, reissued.is_ready) == (certificate.code, "valid", 2, False)
    assert (reissued.learner_name, reissued.title_line, reissued.revoked_reason) == (
        "Augusta Ada King", "Certificate of Achievement", "",
    )
    entry = ModelLogEntry.objects.get(action="certificates.reissue")
    assert (entry.user_id, entry.data["from_status"], entry.data["revision"]) == (manager.pk, "revoked", 2)
    assert [task["kwargs"] for task in queued_tasks(queue)] == [{"certificate_id": certificate.pk}]

    run_queued_tasks(queue)

    reissued.refresh_from_db()
    assert reissued.is_ready is True
    text = services.certificate_pdf(reissued)
    from tests.plugins.certificates.conftest import read_pdf

    lines = read_pdf(text).text.splitlines()
    assert (lines[1], lines[3]) == ("Certificate of Achievement", "Augusta Ada King")
    assert Notification.objects.filter(user=learner).order_by("-pk").values_list("title", flat=True)[0] == (
        "Your certificate for Python basics was reissued"
    )


def test_staff_without_the_permission_cannot_revoke(certificate: Certificate) -> None:
    from django.contrib.auth.models import Permission

    viewer = make_user("vic", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="view_certificate", content_type__app_label="certificates"),
    )
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/admin/certificates/{certificate.pk}/").status_code == 200
    assert "data-revoke-form" not in client.get(f"/admin/certificates/{certificate.pk}/").content.decode()
    # Wagtail answers a refused admin action with its "permission denied" redirect to the home.
    for action, data in (("revoke", {"reason": "No"}), ("reissue", {})):
        refused = client.post(f"/admin/certificates/{certificate.pk}/{action}/", data)
        assert (refused.status_code, refused["Location"]) == (302, "/admin/")
    certificate.refresh_from_db()
    assert (certificate.status, certificate.revision) == ("valid", 1)


def test_admin_user_without_certificate_permissions_is_refused_the_listing(certificate: Certificate) -> None:
    from django.contrib.auth.models import Permission

    editor = make_user("ed")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"))
    client = Client()
    client.force_login(editor)
    for url in ("/admin/certificates/", f"/admin/certificates/{certificate.pk}/"):
        refused = client.get(url)
        assert (refused.status_code, refused["Location"]) == (302, "/admin/")


def test_unknown_certificate_in_the_admin_is_404(admin_client: Client, db: None) -> None:
    assert admin_client.get("/admin/certificates/999999/").status_code == 404
    assert admin_client.post("/admin/certificates/999999/revoke/", {"reason": "x"}).status_code == 404


def test_revoke_by_get_is_refused(admin_client: Client, certificate: Certificate) -> None:
    assert admin_client.get(f"/admin/certificates/{certificate.pk}/revoke/").status_code == 405


def test_editor_sets_a_courses_title_line_and_signature_in_the_admin(tree: Any) -> None:
    superuser = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(superuser)
    assert client.get("/admin/course_certificate_settings/").status_code == 200
    response = client.post(
        "/admin/course_certificate_settings/new/",
        {"course": tree.python.pk, "title_line": "Certificate of Achievement", "signature_name": "Grace Hopper"},
    )
    assert response.status_code == 302
    saved = CourseCertificateSettings.objects.get()
    assert (saved.course_id, saved.title_line, saved.signature_name) == (
        tree.python.pk, "Certificate of Achievement", "Grace Hopper",
    )
