"""Wagtail hooks of the learning core: the Learning menu, the home summary panel, the audit-log
actions of staff decisions on enrollments, the access policy for documents and for search, and
the course staff tools (``learning.staff_views``) with their "Learners" button on course pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.action_menu import PublishMenuItem
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button
from wagtail_modeladmin.helpers import AdminURLHelper
from wagtail_modeladmin.options import modeladmin_register

from academy.plugins import admin_views as plugin_admin
from courses.demo_content import SEED_DEMO_HOOK
from courses.models import CoursePage, LessonPage
from courses.selectors import CLOSED_LESSONS_HOOK, READABLE_COURSES_HOOK
from learning import (
    access,
    cohort_views,
    cohorts,
    date_staff_views,
    demo,
    documents,
    gradebook,
    gradebook_views,
    publishing,
    staff_links,
    staff_views,
)
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
    for action, (label, message) in {**AUDIT_ACTIONS, **cohorts.AUDIT_ACTIONS}.items():
        actions.register_action(action, label, message)


@hooks.register("before_serve_document")
def serve_documents_to_readers(document: Any, request: HttpRequest) -> HttpResponse | None:
    """A document used in a lesson is served only to those who may read that lesson."""
    return documents.refusal(document, request)


@hooks.register(READABLE_COURSES_HOOK)
def readable_courses(*, user: Any, session: Mapping[str, Any] | None, courses: list[Any]) -> set[int]:
    """Catalog search reads lesson bodies only in the courses the access policy opens to ``user``."""
    return access.readable_course_ids(access.viewer(user, session), courses)


@hooks.register(CLOSED_LESSONS_HOOK)
def closed_lessons(
    *, user: Any, session: Mapping[str, Any] | None, lessons: list[Any], course_ids: Mapping[str, int]
) -> set[int]:
    """Catalog search leaves out the bodies of lessons not yet open to ``user`` (drip release)."""
    return access.closed_lesson_ids(access.viewer(user, session), lessons, course_ids=course_ids)


@hooks.register("register_admin_urls")
def register_staff_tool_urls() -> list[Any]:
    """The course staff tools under /admin/learning/ (Wagtail requires admin access)."""
    return [
        path("learning/", include((staff_views.urlpatterns, "learning_staff"), namespace="learning_staff")),
        path("learning/", include((cohort_views.urlpatterns, "learning_cohorts"), namespace="learning_cohorts")),
    ]


@hooks.register(staff_links.HOOK)
def cohorts_staff_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """Cohorts (dates, learners counted, teachers and assistants) for whoever may see the learners."""
    if not access.may_see_learners(access.viewer(user), course):
        return []
    return [staff_links.CourseStaffLink("cohorts", "Cohorts", reverse("learning_cohorts:cohorts", args=[course.pk]),
                                        priority=60, icon="group", header=True)]


class TeachingMenuItem(MenuItem):
    """"My courses" in the admin menu, for teachers and assistants (who may have no page to
    start from in the page explorer)."""

    def is_shown(self, request: HttpRequest) -> bool:
        """Only for users with a teacher or assistant role."""
        return bool(access.course_roles(access.viewer(request.user)))


@hooks.register("register_admin_menu_item")
def register_teaching_menu_item() -> MenuItem:
    """The "My courses" menu item."""
    return TeachingMenuItem("My courses", reverse("learning_cohorts:teaching"), icon_name="group", order=250)


@hooks.register("register_admin_urls")
def register_due_dates_urls() -> list[Any]:
    """The course staff tool "Due dates" (``learning.date_staff_views``) under /admin/learning/."""
    return [path("learning/", include((date_staff_views.urlpatterns, "learning_dates"), namespace="learning_dates"))]


@hooks.register(staff_links.HOOK)
def due_dates_staff_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """The "Due dates" tab for whoever may see the course's learners."""
    return date_staff_views.staff_link(course, user)


@hooks.register(staff_links.HOOK)
def core_course_staff_links(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """Learners and Analytics for whoever may see the course's learners; Bulk enrollment and
    Message learners for whoever may also manage them."""
    who = access.viewer(user)
    if not access.may_see_learners(who, course):
        return []
    links = [
        staff_links.CourseStaffLink("learners", "Learners", reverse("learning_staff:learners", args=[course.pk]),
                                    priority=10, icon="group"),
        staff_links.CourseStaffLink("analytics", "Analytics", reverse("learning_staff:analytics", args=[course.pk]),
                                    priority=20, icon="table"),
    ]
    if access.may_manage_learners(who, course):
        links += [
            staff_links.CourseStaffLink("bulk", "Bulk enrollment", reverse("learning_staff:bulk", args=[course.pk]),
                                        priority=40, icon="upload", header=False),
            staff_links.CourseStaffLink("message", "Message learners",
                                        reverse("learning_staff:message", args=[course.pk]),
                                        priority=50, icon="mail", header=False),
        ]
    return links


@hooks.register(SEED_DEMO_HOOK)
def seed_demo_cohorts(*, catalog: Any, accounts: bool) -> list[tuple[str, str]]:
    """``seed_demo``: the demo course's cohorts, teacher and assistant (``learning.demo``)."""
    return list(demo.seed_demo(catalog=catalog, accounts=accounts))


@hooks.register("register_page_header_buttons")
def delete_own_draft_button(page: Any, user: Any, view_name: str, next_url: str | None = None) -> list[Button]:
    """"Delete draft" (in the page's "..." menu) on an editor's own never-published draft that
    Wagtail will not let them delete. A course's staff tools are buttons of their own in the
    page header (``templates/wagtailadmin/...header.html``, the ``course_header_buttons`` tag)."""
    if (
        page.first_published_at is None and page.owner_id == user.pk
        and not page.permissions_for_user(user).can_delete()
        and staff_views.may_delete_own_draft(user, page)
    ):
        return [Button("Delete draft", reverse("learning_staff:delete_draft", args=[page.pk]), icon_name="bin", priority=49)]
    return []


@hooks.register(staff_links.HOOK)
def plugins_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """"Plugins" (switch plugins for this course, ``academy.plugins``) among the course's staff
    tools, for whoever may edit the course page."""
    if not (plugin_admin.is_plugin_scope(course) and course.permissions_for_user(user).can_edit()):
        return []
    return [staff_links.CourseStaffLink("plugins", "Plugins", reverse("academy_course_plugins", args=[course.pk]),
                                        priority=80, icon="cogs")]


@hooks.register("insert_global_admin_css")
def staff_tools_css() -> str:
    """The staff tools' few styles (tabs, ticks, charts beside their tables)."""
    return format_html('<link rel="stylesheet" href="{}">', static("css/academy-admin.css"))


@hooks.register("construct_explorer_page_queryset")
def number_course_lessons(parent_page: Any, pages: Any, request: HttpRequest) -> Any:
    """A course's lessons carry their number in course order (``lesson_number``, shown by
    ``LessonPage.get_admin_display_title``) in the admin's page listing, unless searching."""
    if request.GET.get("q") or not isinstance(parent_page.specific_deferred, CoursePage):
        return pages
    return pages.annotate(lesson_number=Window(RowNumber(), order_by=F("path").asc()))


class QuietPublishMenuItem(PublishMenuItem):
    """"Publish: minor change, don't notify learners" in the page editor's action menu of
    courses and lessons (a typo fix should not alert every enrolled learner)."""

    label = "Publish: minor change, don't notify learners"
    name = "action-publish-quiet"
    template_name = "learning/admin/quiet_publish_item.html"
    order = 15

    def is_shown(self, context: dict[str, Any]) -> bool:
        """Where Wagtail shows Publish, on course and lesson pages."""
        page = context.get("page")
        is_course_content = isinstance(getattr(page, "specific_deferred", page), (CoursePage, LessonPage))
        return is_course_content and super().is_shown(context)

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        """The button's value tells the edit view's hook to publish quietly."""
        context = super().get_context_data(parent_context)
        context["quiet_value"] = publishing.QUIET_PUBLISH_VALUE
        return context


@hooks.register("register_page_action_menu_item")
def register_quiet_publish() -> QuietPublishMenuItem:
    """The quiet publish choice."""
    return QuietPublishMenuItem()


@hooks.register("before_edit_page")
@hooks.register("before_create_page")
def remember_quiet_publish(request: HttpRequest, *args: Any) -> None:
    """The publish of this request notifies learners unless the quiet button was used."""
    publishing.mark_quiet_publish(request)


@hooks.register("before_delete_page")
def warn_before_deleting_learners(request: HttpRequest, page: Any) -> None:
    """The delete confirmation says what deleting a course or lesson does to its learners."""
    if request.method == "GET":
        warning = publishing.impact_warning(publishing.learner_impact(page), "delete")
        if warning:
            messages.warning(request, warning)


@hooks.register("register_log_actions")
def register_grade_log_actions(actions: Any) -> None:
    """Staff's grade overrides, listed in Reports > Site history."""
    for action, (label, message) in gradebook.AUDIT_ACTIONS.items():
        actions.register_action(action, label, message)


@hooks.register("register_admin_urls")
def register_gradebook_urls() -> list[Any]:
    """The gradebook staff screen under /admin/learning/ (``learning.gradebook_views``)."""
    return [path("learning/", include((gradebook_views.urlpatterns, "learning_gradebook"), namespace="learning_gradebook"))]


@hooks.register(staff_links.HOOK)
def gradebook_staff_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """"Gradebook" for whoever may see the course's learners."""
    if not access.may_see_learners(access.viewer(user), course):
        return []
    return [staff_links.CourseStaffLink("gradebook", "Gradebook", reverse("learning_gradebook:grid", args=[course.pk]),
                                        priority=45, icon="table")]
@hooks.register("register_admin_urls")
def register_service_account_urls() -> list[Any]:
    """Settings > Service accounts (``learning.service_accounts_admin``)."""
    from learning import service_accounts_admin

    return service_accounts_admin.admin_urls()


@hooks.register("register_settings_menu_item")
def register_service_accounts_menu_item() -> Any:
    """Settings > Service accounts, for site administrators."""
    from learning import service_accounts_admin

    return service_accounts_admin.menu_item()


@hooks.register("register_admin_urls")
def register_oauth_apps_urls() -> list[Any]:
    """Settings > OAuth apps (``learning.oauth_admin``)."""
    from learning import oauth_admin

    return oauth_admin.admin_urls()


@hooks.register("register_settings_menu_item")
def register_oauth_apps_menu_item() -> Any:
    """Settings > OAuth apps, for whoever may register apps."""
    from learning import oauth_admin

    return oauth_admin.menu_item()


@hooks.register("register_permissions")
def register_oauth_app_permissions() -> Any:
    """The OAuth app permissions in Settings > Groups, so an admin can give them to editors."""
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="oauth2_provider", content_type__model="application")
