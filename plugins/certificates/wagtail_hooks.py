"""Wagtail admin: a "Certificates" menu (issued certificates with revoke / reissue, and the
courses' own title line and signature), and the audit-log actions of staff decisions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.model import ModelViewSet

from plugins.certificates import admin_views
from plugins.certificates.models import CourseCertificateSettings
from plugins.certificates.services import AUDIT_ACTIONS


class CourseCertificateSettingsViewSet(ModelViewSet):
    """Editors give a course its own certificate title line and signature name."""

    model = CourseCertificateSettings
    icon = "doc-full"
    menu_label = "Course settings"
    add_to_admin_menu = False
    copy_view_enabled = False
    list_display = ["course", "title_line", "signature_name"]
    search_fields = ["title_line", "signature_name"]
    panels = [FieldPanel("course"), FieldPanel("title_line"), FieldPanel("signature_name")]


course_settings_viewset = CourseCertificateSettingsViewSet("course_certificate_settings")


@hooks.register("register_admin_viewset")
def register_course_settings() -> ModelViewSet:
    """/admin/course_certificate_settings/: add, edit and delete a course's settings."""
    return course_settings_viewset


@hooks.register("register_admin_urls")
def register_certificate_urls() -> list[Any]:
    """/admin/certificates/: the issued certificates and the staff actions."""
    patterns = [
        path("", admin_views.index, name="index"),
        path("<int:pk>/", admin_views.detail, name="detail"),
        path("<int:pk>/revoke/", admin_views.revoke, name="revoke"),
        path("<int:pk>/reissue/", admin_views.reissue, name="reissue"),
    ]
    return [path("certificates/", include((patterns, "certificates_admin")))]


class _CertificatesItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return admin_views.can_view(request.user)


class _CourseSettingsItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return course_settings_viewset.permission_policy.user_has_any_permission(
            request.user, ["add", "change", "delete"]
        )


@hooks.register("register_admin_menu_item")
def register_certificates_menu() -> SubmenuMenuItem:
    """Certificates > Issued certificates, Course settings."""
    submenu = Menu(items=[
        _CertificatesItem("Issued certificates", reverse("certificates_admin:index"), icon_name="doc-full", order=100),
        _CourseSettingsItem(
            "Course settings", reverse(course_settings_viewset.get_url_name("index")), icon_name="cog", order=200
        ),
    ])
    return SubmenuMenuItem("Certificates", submenu, icon_name="doc-full", order=350)


@hooks.register("register_log_actions")
def register_certificate_log_actions(actions: Any) -> None:
    """Revocations and reissues, listed in Reports > Site history and on each certificate."""
    for action, (label, message) in AUDIT_ACTIONS.items():
        actions.register_action(action, label, message)
