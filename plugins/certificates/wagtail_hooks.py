"""Wagtail admin: a "Certificates" menu (issued certificates with revoke / reissue, and the
courses' own title line and signature), and the audit-log actions of staff decisions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.viewsets.model import ModelViewSet

from academy.sdk import (
    COURSE_STAFF_LINKS_HOOK,
    CoursePage,
    CourseStaffLink,
    staff_course_filter,
    viewer,
)
from plugins.certificates import admin_views
from plugins.certificates.models import CourseCertificateSettings
from plugins.certificates.services import AUDIT_ACTIONS

# The settings screen's model permissions: with one of them, an editor reaches the settings of
# the courses they may edit (the staff rule's page permissions); superusers reach every course.
SETTINGS_PERMISSIONS = tuple(
    f"certificates.{action}_coursecertificatesettings" for action in ("add", "change", "delete", "view")
)


def settings_courses(user: Any) -> QuerySet[CoursePage]:
    """The courses whose certificate settings ``user`` may edit: the access policy's staff rule
    (``staff_course_filter`` with ``SETTINGS_PERMISSIONS``: page permissions to edit the
    course, on it or above it, and passing its view restrictions); every course for superusers,
    none without a permission."""
    rule = staff_course_filter(viewer(user), prefix="", permissions=SETTINGS_PERMISSIONS)
    return CoursePage.objects.filter(rule).order_by("title", "pk")


class CourseCertificateSettingsForm(WagtailAdminModelForm):
    """The course to choose from: only those of ``settings_courses`` (a plain select)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "course" in self.fields:
            self.fields["course"].queryset = settings_courses(self.for_user)


class _SettingsCreateView(generic.CreateView):
    """The add form, with the course of ``?course=<id>`` (the course's staff link) chosen."""

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        raw = self.request.GET.get("course", "")
        if raw.isdigit() and len(raw) < 19 and settings_courses(self.request.user).filter(pk=int(raw)).exists():
            initial["course"] = int(raw)
        return initial


class _SettingsIndexView(generic.IndexView):
    def get_base_queryset(self) -> QuerySet[Any]:
        return super().get_base_queryset().filter(course__in=settings_courses(self.request.user))


class _OwnCourseOnly:
    """Refuses (403) the settings of a course the user may not edit."""

    request: HttpRequest

    def get_object(self, *args: Any, **kwargs: Any) -> Any:
        found = super().get_object(*args, **kwargs)  # type: ignore[misc]
        if not settings_courses(self.request.user).filter(pk=found.course_id).exists():
            raise PermissionDenied("You may not edit the certificate settings of this course.")
        return found


class _SettingsEditView(_OwnCourseOnly, generic.EditView):
    pass


class _SettingsDeleteView(_OwnCourseOnly, generic.DeleteView):
    pass


class _SettingsHistoryView(_OwnCourseOnly, HistoryView):
    pass


class _SettingsUsageView(_OwnCourseOnly, UsageView):
    pass


class CourseCertificateSettingsViewSet(ModelViewSet):
    """Editors give a course its own certificate title line and signature name: the listing,
    the course choice and every page of one course's settings are limited to the courses they
    may edit (``settings_courses``)."""

    model = CourseCertificateSettings
    icon = "doc-full"
    menu_label = "Course settings"
    add_to_admin_menu = False
    copy_view_enabled = False
    list_display = ["course", "title_line", "signature_name", "require_pass_grade"]
    search_fields = ["title_line", "signature_name"]
    index_view_class = _SettingsIndexView
    add_view_class = _SettingsCreateView
    edit_view_class = _SettingsEditView
    delete_view_class = _SettingsDeleteView
    history_view_class = _SettingsHistoryView
    usage_view_class = _SettingsUsageView
    edit_handler = ObjectList(
        [FieldPanel("course", widget=forms.Select), FieldPanel("title_line"), FieldPanel("signature_name"),
         FieldPanel("require_pass_grade")],
        base_form_class=CourseCertificateSettingsForm,
    )


course_settings_viewset = CourseCertificateSettingsViewSet("course_certificate_settings")


@hooks.register("register_admin_viewset")
def register_course_settings() -> ModelViewSet:
    """/admin/course_certificate_settings/: add, edit and delete a course's settings."""
    return course_settings_viewset


def course_settings(request: HttpRequest, course_id: int) -> HttpResponse:
    """One course's certificate settings (the course's "Certificate" staff link): their edit
    form, or the add form with the course chosen when it has none yet. 404 for a course the
    user may not configure (``settings_courses``)."""
    if not settings_courses(request.user).filter(pk=course_id).exists():
        raise Http404("No such course among those whose certificate you may configure.")
    if CourseCertificateSettings.objects.filter(course_id=course_id).exists():
        return redirect(course_settings_viewset.get_url_name("edit"), course_id)
    return redirect(f"{reverse(course_settings_viewset.get_url_name('add'))}?course={course_id}")


@hooks.register(COURSE_STAFF_LINKS_HOOK)
def certificate_settings_link(*, course: Any, user: Any) -> list[CourseStaffLink]:
    """"Certificate" among the course's staff tools, for whoever may configure it."""
    if not settings_courses(user).filter(pk=course.pk).exists():
        return []
    url = reverse("certificates_admin:course_settings", args=[course.pk])
    return [CourseStaffLink("certificate", "Certificate", url, priority=70, icon="doc-full", header=False)]


@hooks.register("register_admin_urls")
def register_certificate_urls() -> list[Any]:
    """/admin/certificates/: the issued certificates and the staff actions; a course's settings."""
    patterns = [
        path("", admin_views.index, name="index"),
        path("course/<int:course_id>/", course_settings, name="course_settings"),
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
