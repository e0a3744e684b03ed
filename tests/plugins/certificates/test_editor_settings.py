"""Editors configure the certificate of the courses they edit (issue 22): Wagtail's Editors group
holds the settings permissions, and the course's staff tools link to its certificate."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from wagtail.models import GroupPagePermission

from learning.staff_links import course_links
from plugins.certificates.models import CourseCertificateSettings
from tests.plugins.certificates.conftest import make_user

pytestmark = pytest.mark.django_db


def editor_of(course: Any) -> Any:
    """A member of Wagtail's Editors group (its permissions as the migrations leave them) who
    may edit ``course`` only."""
    editors = Group.objects.get(name="Editors")
    GroupPagePermission.objects.filter(group=editors).delete()  # not the whole tree: one course
    for codename in ("add_page", "change_page", "publish_page"):
        GroupPagePermission.objects.create(
            group=editors, page=course, permission=Permission.objects.get(codename=codename, content_type__app_label="wagtailcore"),
        )
    user = make_user("edna")
    user.groups.add(editors)
    return user


def test_the_editors_group_may_configure_the_certificate_of_its_courses(tree: Any) -> None:
    editors = Group.objects.get(name="Editors")
    assert sorted(editors.permissions.filter(content_type__app_label="certificates").values_list("codename", flat=True)) == [
        "add_coursecertificatesettings", "change_coursecertificatesettings",
        "delete_coursecertificatesettings", "view_coursecertificatesettings",
    ]
    editor = editor_of(tree.python)
    client = Client()
    client.force_login(editor)
    link = [link for link in course_links(tree.python, editor) if link.name == "certificate"]
    assert [(one.label, one.url, one.header) for one in link] == [
        ("Certificate", f"/admin/certificates/course/{tree.python.pk}/", False)
    ]
    assert [link.name for link in course_links(tree.sql, editor) if link.name == "certificate"] == []
    # No settings yet: the link opens the add form with the course chosen.
    opened = client.get(link[0].url)
    assert (opened.status_code, opened["Location"]) == (302, f"/admin/course_certificate_settings/new/?course={tree.python.pk}")
    form = client.get(opened["Location"]).content.decode()
    assert f'<option value="{tree.python.pk}" selected>' in form
    saved = client.post("/admin/course_certificate_settings/new/", {
        "course": tree.python.pk, "title_line": "Certificate of Achievement", "signature_name": "Grace Hopper",
    })
    assert saved.status_code == 302
    assert CourseCertificateSettings.objects.get().title_line == "Certificate of Achievement"
    # Then it opens their edit form.
    again = client.get(link[0].url)
    assert again["Location"] == f"/admin/course_certificate_settings/edit/{tree.python.pk}/"
    assert client.get(again["Location"]).status_code == 200
    # Another course's certificate stays closed to them.
    assert client.get(f"/admin/certificates/course/{tree.sql.pk}/").status_code == 404
    assert client.get(f"/admin/course_certificate_settings/new/?course={tree.sql.pk}").content.decode().count(
        f'<option value="{tree.sql.pk}"'
    ) == 0
