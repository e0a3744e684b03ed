"""SDK: admin screens of a plugin: a view base that checks activation and the staff rule, and
the list helpers core's own admin lists use (wagtail-modeladmin)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from academy.plugins.activation import is_active
from courses.models import CoursePage
from learning.access import (
    VIEW_LEARNERS_PERMISSIONS,
    may_open_staff_screen,
    may_see_learners,
    staff_course_filter,
    viewer,
)
from learning.admin_views import NumericPkURLHelper, SafeLookupIndexView, VisibleCourseListFilter
from learning.analytics_figures import HOOK as COURSE_ANALYTICS_FIGURES_HOOK
from learning.analytics_figures import AnalyticsFigure
from learning.exports import HOOK as PROGRESS_EXPORT_COLUMNS_HOOK
from learning.exports import ExportColumn
from learning.staff_links import HOOK as COURSE_STAFF_LINKS_HOOK
from learning.staff_links import CourseStaffLink

__all__ = [
    "COURSE_ANALYTICS_FIGURES_HOOK",
    "COURSE_STAFF_LINKS_HOOK",
    "PROGRESS_EXPORT_COLUMNS_HOOK",
    "AnalyticsFigure",
    "CourseStaffLink",
    "ExportColumn",
    "NumericPkURLHelper",
    "PluginAdminView",
    "SafeLookupIndexView",
    "VisibleCourseListFilter",
]


class PluginAdminView(WagtailAdminTemplateMixin, TemplateView):
    """Base of a plugin's screen in the Wagtail admin (mount it with the ``register_admin_urls``
    hook; Wagtail's admin login applies).

    Every request is checked, in this order: the plugin ``plugin_label`` is active site-wide
    (else 404, as its other doors), and the user holds one of ``permissions`` (else 403;
    superusers hold every permission). Data of a course goes through the staff rule with the same
    ``permissions``: :meth:`staff_filter` / :meth:`staff_courses` for lists, and
    :meth:`require_course` before showing or changing one course's data (404 where the plugin is
    off for that course, 403 unless the user may see that course's learners). The page renders
    ``template_name`` in the admin's furniture (``page_title``, ``header_icon``).
    """

    #: The plugin's app label (required).
    plugin_label: ClassVar[str] = ""
    #: Model permissions, one of which opens the screen; they also pick the staff rule's courses.
    permissions: ClassVar[Sequence[str]] = VIEW_LEARNERS_PERMISSIONS

    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Refuse with 404 when the plugin is off site-wide, 403 without a permission."""
        if not self.plugin_label:
            raise ImproperlyConfigured(f"{type(self).__qualname__} must set plugin_label")
        if not is_active(self.plugin_label):
            raise Http404("This feature is switched off.")
        if not self.has_permission(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def has_permission(self, user: Any) -> bool:
        """Whether ``user`` holds one of :attr:`permissions`, or is a teacher or assistant of
        some course where those permissions are about learners (the staff rule then limits them
        to their courses and cohorts)."""
        return may_open_staff_screen(viewer(user), permissions=self.permissions)

    def staff_filter(self, *, prefix: str = "course__") -> Q:
        """A filter (``prefix`` leads to the course) keeping the courses whose data this user
        may see here: the staff rule with :attr:`permissions`."""
        return staff_course_filter(viewer(self.request.user), prefix=prefix, permissions=self.permissions)

    def staff_courses(self) -> QuerySet[CoursePage]:
        """The courses whose data this user may see here, by title."""
        return CoursePage.objects.filter(self.staff_filter(prefix="")).order_by("title", "pk")

    def require_course(self, course: Page) -> None:
        """Raise 404 where the plugin is off for ``course``, 403 unless the staff rule with
        :attr:`permissions` lets this user see its learners."""
        if not is_active(self.plugin_label, course_id=course.pk):
            raise Http404("This feature is switched off for this course.")
        if not may_see_learners(viewer(self.request.user), course, permissions=self.permissions):
            raise PermissionDenied("You may not see the learners of this course.")
