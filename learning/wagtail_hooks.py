"""Wagtail hooks of the learning core: the Learning menu, the home summary panel, the audit-log
actions of staff decisions on enrollments, the access policy for documents and for search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from wagtail import hooks
from wagtail_modeladmin.helpers import AdminURLHelper
from wagtail_modeladmin.options import modeladmin_register

from courses.selectors import READABLE_COURSES_HOOK
from learning import access, documents
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
