"""Staff revoke (with a reason) and reissue certificates in the Wagtail admin; both are in the
audit trail and the learner is notified. Editors give a course its own title line and signature."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_q.brokers import Broker
from wagtail.models import ModelLogEntry

from learning import services as learning_services
from learning.models import Notification
from plugins.certificates import services, tasks
from plugins.certificates.models import Certificate, CourseCertificateSettings
from realtime.models import Event
from tests.courses.helpers import logged_in
from tests.learning.staff_world import outcome, staff_member
from tests.plugins.certificates.conftest import certificate_staff, complete_course, make_user
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


def test_staff_without_the_permission_cannot_revoke(tree: Any, certificate: Certificate) -> None:
    viewer = certificate_staff("vic", tree.python, manage=False)
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


@pytest.fixture
def sql_certificate(tree: Any, other_learner: Any, certificate: Certificate) -> Certificate:
    """Bob's certificate for Databases with SQL (course B; approved by a superuser), beside
    Ada's for Python basics (course A, ``certificate``)."""
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    pending = learning_services.enrollment_request(user=other_learner, course=tree.sql).enrollment
    learning_services.enrollment_approve(enrollment=pending, by=root)
    complete_course(other_learner, tree.sql)
    tasks.issue_certificate(user_id=other_learner.pk, course_id=tree.sql.pk)
    return Certificate.objects.get(user=other_learner)


def _listed(client: Client, **params: str) -> list[int]:
    html = client.get("/admin/certificates/", params).content.decode()
    return sorted(pk for pk in Certificate.objects.values_list("pk", flat=True) if f'data-certificate-id="{pk}"' in html)


def _untouched(certificate: Certificate) -> bool:
    fresh = Certificate.objects.get(pk=certificate.pk)
    logged = ModelLogEntry.objects.filter(object_id=str(certificate.pk), content_type__model="certificate").exists()
    return (fresh.status, fresh.revision, fresh.revoked_reason, logged) == ("valid", 1, "", False)


def test_staff_reach_only_the_certificates_of_the_courses_they_edit(
    admin_client: Client, certificate: Certificate, sql_certificate: Certificate
) -> None:
    """The manager edits Python basics: Bob's certificate for SQL is not listed, not found by a
    search, and its page and actions are refused (changing nothing)."""
    assert _listed(admin_client) == [certificate.pk]
    assert _listed(admin_client, q="bob") == []
    assert _listed(admin_client, q=sql_certificate.code) == []
    assert outcome(admin_client.get(f"/admin/certificates/{certificate.pk}/")) == "ok"
    assert outcome(admin_client.get(f"/admin/certificates/{sql_certificate.pk}/")) == "forbidden"
    notes = Notification.objects.filter(user_id=sql_certificate.user_id).count()
    for action, data in (("revoke", {"reason": "Not yours"}), ("reissue", {})):
        refused = admin_client.post(f"/admin/certificates/{sql_certificate.pk}/{action}/", data)
        assert outcome(refused) == "forbidden"
    assert _untouched(sql_certificate)
    assert Notification.objects.filter(user_id=sql_certificate.user_id).count() == notes
    assert not Event.objects.filter(type="certificates.revoked").exists()


def test_certificate_staff_who_edit_no_course_reach_no_certificate(
    certificate: Certificate, sql_certificate: Certificate
) -> None:
    client = logged_in(certificate_staff("nina"))
    listing = client.get("/admin/certificates/")
    assert listing.status_code == 200 and _listed(client) == []
    for shown in (certificate, sql_certificate):
        assert outcome(client.get(f"/admin/certificates/{shown.pk}/")) == "forbidden"
        for action, data in (("revoke", {"reason": "No"}), ("reissue", {})):
            assert outcome(client.post(f"/admin/certificates/{shown.pk}/{action}/", data)) == "forbidden"
        assert _untouched(shown)


def test_superusers_and_editors_of_the_whole_catalog_reach_every_certificate(
    tree: Any, certificate: Certificate, sql_certificate: Certificate
) -> None:
    root = get_user_model().objects.get(username="root")
    for user in (root, certificate_staff("cat", tree.catalog, manage=False)):
        client = logged_in(user)
        assert _listed(client) == sorted([certificate.pk, sql_certificate.pk])
        for shown in (certificate, sql_certificate):
            assert outcome(client.get(f"/admin/certificates/{shown.pk}/")) == "ok"
    revoked = logged_in(root).post(f"/admin/certificates/{sql_certificate.pk}/revoke/", {"reason": "Checked"})
    assert revoked.status_code == 302
    assert Certificate.objects.get(pk=sql_certificate.pk).status == "revoked"


def test_the_services_refuse_staff_a_certificate_of_another_course(
    manager: Any, certificate: Certificate, sql_certificate: Certificate, queue: Broker,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Not only the admin: revoke and reissue themselves apply the staff rule for the course."""
    from learning.services import Forbidden

    notes = Notification.objects.filter(user_id=sql_certificate.user_id).count()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(Forbidden):
            services.certificate_revoke(certificate=sql_certificate, by=manager, reason="Not yours")
        with pytest.raises(Forbidden):
            services.certificate_reissue(certificate=sql_certificate.pk, by=manager)
    assert _untouched(sql_certificate)
    assert Notification.objects.filter(user_id=sql_certificate.user_id).count() == notes
    assert not Event.objects.filter(type="certificates.revoked").exists()
    assert queued_tasks(queue) == []

    # The same manager acts on a certificate of their own course.
    assert services.certificate_revoke(certificate=certificate, by=manager, reason="Mistake").status == "revoked"
    assert services.certificate_reissue(certificate=certificate.pk, by=manager).revision == 2


# --- Course certificate settings: each editor reaches the courses they may edit ----------------


def settings_editor(username: str, *pages: Any) -> Any:
    """Admin access, every permission on the course settings, and ``change_page`` on ``pages``."""
    codenames = ("add", "change", "delete", "view")
    return staff_member(
        username, *pages,
        permissions=tuple(("certificates", f"{codename}_coursecertificatesettings") for codename in codenames),
        group_name=f"Settings editors {username}", is_staff=True,
    )


SETTINGS_URL = "/admin/course_certificate_settings/"


def _settings_rows(tree: Any) -> tuple[CourseCertificateSettings, CourseCertificateSettings]:
    return (
        CourseCertificateSettings.objects.create(course_id=tree.python.pk, title_line="Python line", signature_name="Guido"),
        CourseCertificateSettings.objects.create(course_id=tree.sql.pk, title_line="SQL line", signature_name="Edgar"),
    )


def _state(row: CourseCertificateSettings) -> tuple[str, str] | None:
    fresh = CourseCertificateSettings.objects.filter(pk=row.pk).first()
    return (fresh.title_line, fresh.signature_name) if fresh else None


def _course_options(client: Client) -> set[int]:
    import re

    html = client.get(f"{SETTINGS_URL}new/").content.decode()
    select = re.search(r'<select name="course".*?</select>', html, re.S)
    assert select is not None
    return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select.group(0))}


def test_settings_editor_lists_chooses_and_edits_only_the_courses_they_edit(tree: Any) -> None:
    python_row, sql_row = _settings_rows(tree)
    client = logged_in(settings_editor("ed", tree.python))

    listing = client.get(SETTINGS_URL).content.decode()
    assert f"{SETTINGS_URL}edit/{python_row.pk}/" in listing
    assert f"{SETTINGS_URL}edit/{sql_row.pk}/" not in listing
    assert _course_options(client) == {tree.python.pk}

    edited = client.post(
        f"{SETTINGS_URL}edit/{python_row.pk}/",
        {"course": tree.python.pk, "title_line": "Certificate of Achievement", "signature_name": "Ada"},
    )
    assert edited.status_code == 302
    assert _state(python_row) == ("Certificate of Achievement", "Ada")

    for url in (f"edit/{sql_row.pk}/", f"delete/{sql_row.pk}/", f"history/{sql_row.pk}/", f"usage/{sql_row.pk}/"):
        assert outcome(client.get(f"{SETTINGS_URL}{url}")) == "forbidden", url
    refused = client.post(
        f"{SETTINGS_URL}edit/{sql_row.pk}/", {"course": tree.sql.pk, "title_line": "Hijacked", "signature_name": "Eve"}
    )
    assert outcome(refused) == "forbidden"
    assert outcome(client.post(f"{SETTINGS_URL}delete/{sql_row.pk}/")) == "forbidden"
    assert _state(sql_row) == ("SQL line", "Edgar")


def test_settings_editor_cannot_create_or_move_settings_onto_another_course(tree: Any) -> None:
    python_row = CourseCertificateSettings.objects.create(course_id=tree.python.pk, title_line="Python line")
    client = logged_in(settings_editor("ed", tree.python))

    created = client.post(f"{SETTINGS_URL}new/", {"course": tree.sql.pk, "title_line": "Mine now", "signature_name": ""})
    assert created.status_code == 200  # the form again, with the course refused
    moved = client.post(
        f"{SETTINGS_URL}edit/{python_row.pk}/", {"course": tree.sql.pk, "title_line": "Moved", "signature_name": ""}
    )
    assert moved.status_code == 200
    assert not CourseCertificateSettings.objects.filter(course_id=tree.sql.pk).exists()
    assert _state(python_row) == ("Python line", "")


def test_settings_editor_of_no_course_and_superuser(tree: Any) -> None:
    python_row, sql_row = _settings_rows(tree)
    nobody = logged_in(settings_editor("nina"))
    listing = nobody.get(SETTINGS_URL)
    assert listing.status_code == 200
    assert f"{SETTINGS_URL}edit/" not in listing.content.decode()
    assert _course_options(nobody) == set()
    assert outcome(nobody.get(f"{SETTINGS_URL}edit/{python_row.pk}/")) == "forbidden"

    root = logged_in(make_user("root", is_staff=True, is_superuser=True))
    listing = root.get(SETTINGS_URL).content.decode()
    assert f"{SETTINGS_URL}edit/{python_row.pk}/" in listing and f"{SETTINGS_URL}edit/{sql_row.pk}/" in listing
    assert {tree.python.pk, tree.sql.pk} <= _course_options(root)
    assert outcome(root.get(f"{SETTINGS_URL}edit/{sql_row.pk}/")) == "ok"


def test_settings_editor_does_not_reach_a_course_behind_a_restriction_they_fail(tree: Any) -> None:
    """The settings screen follows the whole staff rule: editing rights on a course behind a
    group restriction the editor is not in do not reach its settings."""
    from django.contrib.auth.models import Group
    from wagtail.models import PageViewRestriction

    from plugins.certificates.wagtail_hooks import settings_courses

    restriction = PageViewRestriction.objects.create(page=tree.sql, restriction_type=PageViewRestriction.GROUPS)
    restriction.groups.add(Group.objects.create(name="Insiders"))
    editor = settings_editor("rita", tree.python, tree.sql)
    assert [course.pk for course in settings_courses(editor)] == [tree.python.pk]
