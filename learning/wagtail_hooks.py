"""Wagtail hooks of the learning core: the Learning menu, the home summary panel, the audit-log
actions of staff decisions on enrollments, the access policy for documents and for search, and
the course staff tools (``learning.staff_views``) with their "Learners" button on course pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.widgets import Button
from wagtail_modeladmin.helpers import AdminURLHelper
from wagtail_modeladmin.options import modeladmin_register

from courses.models import CoursePage
from courses.selectors import READABLE_COURSES_HOOK
from learning import access, documents, staff_views
from learning.admin_views import LearningAdminGroup, LearningSummaryPanel, can_view_enrollments
from learning.models import Enrollment
from learning.services import AUDIT_ACTIONS

modeladmin_register(LearningAdminGroup)


@hooks.register("construct_homepage_panels")
def add_learning_summary_panel(request: HttpRequest, panels: list[Any]) -> None:
    """Active learners and pending approvals, for users who may see enrollments."""
    if can_view_enrollments(request.user):
        panels.append(LearningSummaryPanel(AdminURLHelper(Enrollment).index_url))


@hooks.register("register_log_actions")
def register_enrollment_log_actions(actions: Any) -> None:
    """Staff approvals and cancellations, listed in Reports > Site history."""
    for action, (label, message) in AUDIT_ACTIONS.items():
        actions.register_action(action, label, message)


@hooks.register("before_serve_document")
def serve_documents_to_readers(document: Any, request: HttpRequest) -> HttpResponse | None:
    """A document used in a lesson is served only to those who may read that lesson."""
    return documents.refusal(document, request)


@hooks.register(READABLE_COURSES_HOOK)
def readable_courses(*, user: Any, session: Mapping[str, Any] | None, courses: list[Any]) -> set[int]:
    """Catalog search reads lesson bodies only in the courses the access policy opens to ``user``."""
    return access.readable_course_ids(access.viewer(user, session), courses)


@hooks.register("register_admin_urls")
def register_staff_tool_urls() -> list[Any]:
    """The course staff tools under /admin/learning/ (Wagtail requires admin access)."""
    return [path("learning/", include((staff_views.urlpatterns, "learning_staff"), namespace="learning_staff"))]


@hooks.register("register_page_header_buttons")
def course_staff_buttons(page: Any, user: Any, view_name: str, next_url: str | None = None) -> list[Button]:
    """"Learners" and "Analytics" on a course's admin pages, for those who may see its learners."""
    if not isinstance(page.specific_deferred, CoursePage) or not access.may_see_learners(access.viewer(user), page):
        return []
    return [
        Button("Learners", reverse("learning_staff:learners", args=[page.pk]), icon_name="group", priority=5),
        Button("Analytics", reverse("learning_staff:analytics", args=[page.pk]), icon_name="table", priority=6),
    ]


@hooks.register("insert_global_admin_css")
def staff_tools_css() -> str:
    """The staff tools' few styles (tabs, ticks, charts beside their tables)."""
    return format_html('<link rel="stylesheet" href="{}">', static("css/academy-admin.css"))
