"""Wagtail admin hooks of the learning core: the Learning menu and the home summary panel."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from wagtail import hooks
from wagtail_modeladmin.helpers import AdminURLHelper
from wagtail_modeladmin.options import modeladmin_register

from learning.admin_views import LearningAdminGroup, LearningSummaryPanel, can_view_enrollments
from learning.models import Enrollment

modeladmin_register(LearningAdminGroup)


@hooks.register("construct_homepage_panels")
def add_learning_summary_panel(request: HttpRequest, panels: list[Any]) -> None:
    """Active learners and pending approvals, for users who may see enrollments."""
    if can_view_enrollments(request.user):
        panels.append(LearningSummaryPanel(AdminURLHelper(Enrollment).index_url))
