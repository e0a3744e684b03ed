"""Wagtail admin for the learning core (wagtail-modeladmin): enrollments and progress reports.

- **Enrollments**: list with filters (status, course) and search (learner, email, course);
  approve and cancel actions that go through ``learning.services`` (so the learner is notified
  and events are sent) and need ``learning.change_enrollment``. Enrollments are never created,
  edited or deleted through forms here: the services are their only writer.
- **Progress report**: every learner's progress per course (percent, lessons, last activity),
  filterable by course and exportable to CSV. Needs ``learning.view_enrollment`` (or change).
- **Summary panel** on the admin home page: active learners and pending approvals.

Registered by ``learning/wagtail_hooks.py``. Editors see what their group's permissions allow,
and only enrollments of courses the access policy lets them see as staff
(``access.staff_course_filter``: Wagtail page permissions on the course decide whose learners
an editor sees, superusers see all; and a course behind a login, group or password restriction they do not pass is left out of the
lists, the course filter, the CSV export and every per-enrollment page; the admin has no page
session, so password-restricted courses are for superusers). Staff never approve or cancel
their own enrollment. Their decisions are in Wagtail's audit log: Reports > Site history, and
each enrollment's History page (read-only). Learners (no ``wagtailadmin.access_admin``) never
get past Wagtail's admin login.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.admin import RelatedFieldListFilter, SimpleListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import lookup_field, quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import re_path
from django.utils import timezone
from django.utils.html import format_html
from wagtail.admin.ui.components import Component
from wagtail_modeladmin.helpers import AdminURLHelper, ButtonHelper, PermissionHelper
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup
from wagtail_modeladmin.views import HistoryView, IndexView, InspectView, InstanceSpecificView

from courses.models import CoursePage
from learning import access, selectors, services
from learning.models import Cohort, CourseProgressReport, Enrollment

VIEW_PERMISSION = "learning.view_enrollment"
CHANGE_PERMISSION = services.MANAGE_ENROLLMENTS_PERMISSION


def can_view_enrollments(user: Any) -> bool:
    """Whether ``user`` may list enrollments and read progress reports: a learning permission
    on enrollments, or a teacher or assistant role (their courses' and cohorts' rows only)."""
    return access.may_open_staff_screen(access.viewer(user), permissions=(VIEW_PERMISSION, CHANGE_PERMISSION))


def visible_enrollments(user: Any, rows: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
    """``rows`` limited to the learners the access policy lets ``user`` see in the admin (their
    courses, and their cohorts for a teacher or assistant of some cohorts)."""
    return rows.filter(access.staff_enrollment_filter(access.viewer(user)))


def course_visible(user: Any, obj: Enrollment) -> bool:
    """Whether ``user`` may see the course of enrollment ``obj`` in the admin (no query per row:
    the hidden paths are computed once per request)."""
    return access.may_see_enrollment(access.viewer(user), obj)


# Spreadsheet applications run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet shows as text: formula-like text gets a leading quote
    (OWASP's advice). Numbers, dates and empty values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_cell(value: Any, export_format: str) -> Any:
    """A cell of an export: numbers stay numbers, times are the site's local time to the second
    (ISO 8601 in CSV, a date-time cell in XLSX), nothing is empty text, text is formula-safe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        moment = moment.replace(microsecond=0)
        return moment.isoformat() if export_format == "csv" else moment.replace(tzinfo=None)
    return spreadsheet_safe(value)


def when(moment: datetime | None) -> str:
    """A moment as staff read it: local time to the minute ("2026-11-29 16:20")."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "an unknown time"


class VisibleCourseListFilter(RelatedFieldListFilter):
    """The course filter lists only the courses the user may see (titles are information too):
    the staff rule with ``permissions`` (a plugin's list names its own)."""

    permissions: tuple[str, ...] = access.VIEW_LEARNERS_PERMISSIONS

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[int, str]]:
        """Visible courses, by title."""
        who = access.viewer(request.user)
        courses = CoursePage.objects.filter(access.staff_course_filter(who, prefix="", permissions=self.permissions))
        return list(courses.order_by("title").values_list("pk", "title"))


class VisibleCohortListFilter(SimpleListFilter):
    """``?cohort=<id>``: the learners of one cohort (with those in no cohort for the default
    one), among the cohorts whose learners the user may see (``access.staff_cohort_ids``)."""

    title = "cohort"
    parameter_name = "cohort"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """The visible cohorts, "Course: cohort" by course title. One query."""
        who = access.viewer(request.user)
        rows = Cohort.objects.filter(access.staff_course_filter(who)).select_related("course").order_by(
            "course__title", "-is_default", "starts_on", "name"
        )
        choices = []
        for cohort in rows:
            visible = access.staff_cohort_ids(who, cohort.course)
            if visible is None or cohort.pk in visible:
                choices.append((str(cohort.pk), f"{cohort.course.title}: {cohort.name}"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> QuerySet[Enrollment]:
        """Rows of the chosen cohort; a value that is no visible cohort is a malformed filter."""
        value = self.value()
        if not value:
            return queryset
        if value not in {key for key, _label in self.lookup_choices}:
            raise IncorrectLookupParameters("Unknown cohort.")
        from learning.cohorts import cohort_enrollment_filter

        return queryset.filter(cohort_enrollment_filter(Cohort.objects.get(pk=int(value))))


class ReadOnlyEnrollmentPermissionHelper(PermissionHelper):
    """Listing and inspecting only: every write goes through the approve/cancel actions."""

    def user_can_list(self, user: Any) -> bool:
        """View or change permission on enrollments."""
        return can_view_enrollments(user)

    def user_can_inspect_obj(self, user: Any, obj: Any) -> bool:
        """Same as listing, for a course the user may see."""
        return self.inspect_view_enabled and can_view_enrollments(user) and course_visible(user, obj)

    def user_can_create(self, user: Any) -> bool:
        """Enrollments are created by learners through ``enrollment_request`` only."""
        return False

    def user_can_edit_obj(self, user: Any, obj: Any) -> bool:
        """No edit form: status changes go through the services."""
        return False

    def user_can_delete_obj(self, user: Any, obj: Any) -> bool:
        """Cancel instead of deleting, so the history and progress are kept."""
        return False

    def user_can_approve_obj(self, user: Any, obj: Enrollment) -> bool:
        """A pending enrollment of someone else that ``user`` manages (``access.may_manage_enrollment``:
        the change permission and the course, or a teacher role reaching the learner)."""
        return (
            obj.status == Enrollment.Status.PENDING_APPROVAL and obj.user_id != user.pk
            and access.may_manage_enrollment(access.viewer(user), obj)
        )

    def user_can_cancel_obj(self, user: Any, obj: Enrollment) -> bool:
        """Someone else's enrollment that ``user`` manages, not cancelled yet."""
        return (
            obj.status != Enrollment.Status.CANCELLED and obj.user_id != user.pk
            and access.may_manage_enrollment(access.viewer(user), obj)
        )


class EnrollmentButtonHelper(ButtonHelper):
    """Inspect, then Approve / Cancel where the status and the user's permissions allow."""

    def action_button(self, action: str, label: str, obj: Enrollment, classnames: list[str]) -> dict[str, str]:
        """A button linking to the action's confirmation page."""
        return {
            "url": self.url_helper.get_action_url(action, quote(obj.pk)),
            "label": label,
            "classname": self.finalise_classname(classnames),
            "title": f"{label} of {_learner_name(obj)} in {obj.course.title}",
        }

    def get_buttons_for_obj(
        self, obj: Enrollment, exclude: list[str] | None = None,
        classnames_add: list[str] | None = None, classnames_exclude: list[str] | None = None,
    ) -> list[dict[str, str]]:
        """Default buttons plus the workflow actions."""
        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        helper = self.permission_helper
        extra = list(classnames_add or [])
        if helper.user_can_approve_obj(self.request.user, obj):
            buttons.append(self.action_button("approve", "Approve enrollment", obj, extra))
        if helper.user_can_cancel_obj(self.request.user, obj):
            buttons.append(self.action_button("cancel", "Cancel enrollment", obj, [*extra, "button-secondary", "no"]))
        return buttons


class NumericPkURLHelper(AdminURLHelper):
    """Object URLs only match numeric ids: ``/approve/abc/`` is a 404, not a 500."""

    def _get_object_specific_action_url_pattern(self, action: str) -> str:
        return rf"^{self.base_url_path}/{action}/(?P<instance_pk>[0-9]{{1,19}})/$"


class SafeLookupIndexView(IndexView):
    """A list whose filters come from the URL: a malformed filter value (``?course=abc``) sends
    the user back to the unfiltered list with a message instead of failing.

    Its CSV and XLSX exports are the only spreadsheets Academy writes; every cell goes through
    ``spreadsheet_safe`` here.

    Beyond the declared filter widgets, wagtail-modeladmin passes every other query parameter
    to ``QuerySet.filter`` unchecked (Django's own admin asks ``lookup_allowed`` first). Left
    alone that lets a staff member filter on any related column (``?user__password__startswith=``
    narrows down other users' password hashes) and sends out-of-range ids to the database
    (``?course=99999999999999999999`` is an OverflowError on SQLite). So the only extra
    parameters accepted are equality on a ``list_filter`` field (``?status=active``, used by the
    home panel's links; ``?course=<id>`` or ``?course__id__exact=<id>``), with values the field
    itself accepts; anything else is a malformed filter.
    """

    def to_row_dict(self, item: Any) -> dict[str, Any]:
        """The exported values as they are (modeladmin would turn 0 and None into "-")."""
        return {field: lookup_field(field, item, self.model_admin)[2] for field in self.list_export}

    def preprocess_field_value(self, field: str, value: Any, export_format: str) -> Any:
        """Numbers as numbers, local ISO times without microseconds, formula-safe text."""
        return export_cell(value, export_format)

    def get_filters(self, request: HttpRequest) -> tuple[Any, ...]:
        """The declared filters, plus the checked equality parameters."""
        specs, has_filters, remaining, use_distinct = super().get_filters(request)
        # The filter widgets' own parameters (``course__page_ptr__exact``) reach the database
        # unchecked too; ``__isnull`` ones are parsed as booleans by Django already.
        # A custom SimpleListFilter (no ``field``) parses its own values.
        for spec in specs:
            field = getattr(spec, "field", None)
            for key, values in spec.used_parameters.items():
                if field is not None and not key.endswith("__isnull"):
                    _check_filter_values(field, values)
        allowed = _equality_lookups(self.model, self.list_filter)
        for key, values in remaining.items():
            if key not in allowed:
                raise IncorrectLookupParameters(f"Unknown filter {key!r}.")
            _check_filter_values(allowed[key], values)
        return specs, has_filters, remaining, use_distinct

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Run the list view; recover from filter values the database cannot use."""
        try:
            return super().dispatch(request, *args, **kwargs)
        except IncorrectLookupParameters:
            messages.error(request, "That filter is not valid; showing the whole list.")
            return redirect(self.url_helper.index_url)


EQUALITY_SUFFIXES = ("", "__exact")
KEY_EQUALITY_SUFFIXES = ("__id", "__id__exact", "__pk", "__pk__exact")


def _equality_lookups(model: Any, list_filter: Any) -> dict[str, Any]:
    """Query parameters that mean "equal to" on a declared filter field, mapped to that field."""
    lookups: dict[str, Any] = {}
    for entry in list_filter:
        # ("course", VisibleCourseListFilter): a field with its own filter class.
        name = entry[0] if isinstance(entry, tuple) else entry
        if not isinstance(name, str) or "__" in name:
            continue
        field = model._meta.get_field(name)
        suffixes = EQUALITY_SUFFIXES + (KEY_EQUALITY_SUFFIXES if field.is_relation else ())
        lookups.update({f"{name}{suffix}": field for suffix in suffixes})
    return lookups


def _check_filter_values(field: Any, values: str | list[str]) -> None:
    """Raise ``IncorrectLookupParameters`` unless ``field`` (or the key it points to) takes every value.

    A foreign key is checked as its target's primary key, whose validators carry the database's
    integer range; choices are checked against the field's choices.
    """
    target = field
    while target.is_relation:
        target = target.target_field
    choices = {choice for choice, _label in field.flatchoices} if field.choices else None
    for value in values if isinstance(values, list) else [values]:
        try:
            cleaned = target.to_python(value)
            target.run_validators(cleaned)
        except ValidationError as exc:
            raise IncorrectLookupParameters(exc) from exc
        if choices is not None and cleaned not in choices:
            raise IncorrectLookupParameters(f"{value!r} is not a choice of {field.name}.")


def enrollment_in_words(enrollment: Enrollment) -> str:
    """e.g. "Ada Lovelace (ada) in Python basics"."""
    return f"{_learner_name(enrollment)} in {enrollment.course.title}"


def stale_action_message(enrollment: Enrollment, action: str) -> str:
    """What happened to an enrollment that an approve or cancel link no longer applies to."""
    decider = enrollment.decided_by
    by = f" by {decider.get_full_name() or decider.get_username()}" if decider is not None else ""
    status = Enrollment.Status
    if enrollment.status == status.CANCELLED:
        what = f"was already cancelled{by} at {when(enrollment.cancelled_at)}"
    elif enrollment.status == status.COMPLETED:
        what = f"is already completed (at {when(enrollment.completed_at)})"
    elif enrollment.status == status.ACTIVE and action == "approve":
        what = (
            f"was already approved{by} at {when(enrollment.activated_at)}" if decider is not None
            else f"is already active (enrolled at {when(enrollment.activated_at)})"
        )
    else:
        what = f"is {enrollment.get_status_display().lower()}"
    return f"Nothing to do: the enrollment of {enrollment_in_words(enrollment)} {what}."


class EnrollmentSubtitleMixin:
    """Page subtitles name the learner and the course, never a raw id and status code."""

    instance: Enrollment

    def get_page_subtitle(self) -> str:
        """e.g. "Ada Lovelace (ada) in Python basics"."""
        return enrollment_in_words(self.instance)


class EnrollmentActionView(EnrollmentSubtitleMixin, InstanceSpecificView):
    """Confirm (GET) then run (POST) an approve or cancel action through the services."""

    action = ""
    label = ""
    template_name = "learning/admin/enrollment_action.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A link that went stale (a colleague decided first) says what happened and goes back
        to the queue; a link the user may never follow is refused as before."""
        if not self.check_action_permitted(request.user) and self.may_decide(request.user):
            messages.warning(request, stale_action_message(self.instance, self.action))
            return redirect(self.index_url)
        return super().dispatch(request, *args, **kwargs)

    def may_decide(self, user: Any) -> bool:
        """Whether ``user`` could take this kind of decision on this enrollment in another state."""
        return (
            self.instance.user_id != user.pk and access.may_manage_enrollment(access.viewer(user), self.instance)
        )

    def check_action_permitted(self, user: Any) -> bool:
        """The status must allow the action and the user must have the change permission."""
        check = getattr(self.permission_helper, f"user_can_{self.action}_obj")
        return bool(check(user, self.instance))

    def get_page_title(self) -> str:
        """e.g. "Approve enrollment"."""
        return f"{self.label} enrollment"

    def confirmation_message(self) -> str:
        """What will happen, in the learner's and course's names."""
        enrollment = self.instance
        verb = "approve" if self.action == "approve" else "cancel"
        return (
            f"Do you want to {verb} the enrollment of {enrollment.user} in "
            f"{enrollment.course.title}? The learner is notified."
        )

    def action_url(self) -> str:
        """Where the confirmation form posts."""
        return self.url_helper.get_action_url(self.action, self.pk_quoted)

    def run(self, request: HttpRequest) -> services.EnrollmentResult:
        """Call the service for this action."""
        raise NotImplementedError

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Run the action, report the outcome, go back to the listing."""
        try:
            result = self.run(request)
        except services.Forbidden as exc:
            raise PermissionDenied(exc.message) from exc
        except services.ServiceError as exc:
            messages.error(request, exc.message)
            return redirect(self.index_url)
        enrollment = result.enrollment
        if result.changed:
            messages.success(
                request, f"Enrollment of {enrollment_in_words(enrollment)}: {enrollment.get_status_display().lower()}."
            )
        else:
            messages.info(request, stale_action_message(enrollment, self.action))
        return redirect(self.index_url)


class EnrollmentHistoryView(EnrollmentSubtitleMixin, HistoryView):
    """The enrollment's audit trail (read-only), for those who may inspect it."""

    def check_action_permitted(self, user: Any) -> bool:
        """Same rule as the inspect page."""
        return bool(self.permission_helper.user_can_inspect_obj(user, self.instance))


class EnrollmentInspectView(EnrollmentSubtitleMixin, InspectView):
    """The enrollment's fields in words; a count of 0 reads 0, not "-"."""

    def get_field_display_value(self, field_name: str, field: Any = None) -> Any:
        """Wagtail's display, except that zero stays zero."""
        value = getattr(self.instance, field_name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value == 0:
            return 0
        return super().get_field_display_value(field_name, field)


class ApproveEnrollmentView(EnrollmentActionView):
    """Approve a pending enrollment."""

    action = "approve"
    label = "Approve"

    def run(self, request: HttpRequest) -> services.EnrollmentResult:
        """``enrollment_approve``."""
        return services.enrollment_approve(enrollment=self.instance.pk, by=request.user)


class CancelEnrollmentView(EnrollmentActionView):
    """Cancel an enrollment."""

    action = "cancel"
    label = "Cancel"

    def run(self, request: HttpRequest) -> services.EnrollmentResult:
        """``enrollment_cancel``."""
        return services.enrollment_cancel(enrollment=self.instance.pk, by=request.user, as_staff=True)


def _learner_name(obj: Enrollment) -> str:
    full_name = obj.user.get_full_name()
    return f"{full_name} ({obj.user.get_username()})" if full_name else obj.user.get_username()


class EnrollmentAdmin(ModelAdmin):
    """Enrollments: filter, search, approve, cancel."""

    model = Enrollment
    menu_label = "Enrollments"
    menu_icon = "user"
    menu_order = 100
    add_to_settings_menu = False
    inspect_view_enabled = True
    permission_helper_class = ReadOnlyEnrollmentPermissionHelper
    button_helper_class = EnrollmentButtonHelper
    url_helper_class = NumericPkURLHelper
    index_view_class = SafeLookupIndexView
    history_view_class = EnrollmentHistoryView
    inspect_view_class = EnrollmentInspectView
    list_display = ("learner", "course_title", "status_label", "progress", "requested_at", "last_activity_at")
    list_filter = ("status", ("course", VisibleCourseListFilter))
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name", "course__title")
    list_select_related = ("user", "course")
    list_per_page = 50
    inspect_view_fields = (
        "user", "course", "status", "requested_at", "activated_at", "completed_at", "cancelled_at",
        "decided_by", "completed_lessons", "total_lessons", "progress_percent", "last_activity_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        """Enrollments (of courses the user may see) with learner and course joined."""
        return visible_enrollments(request.user, super().get_queryset(request).select_related("user", "course"))

    def learner(self, obj: Enrollment) -> str:
        """Learner's name and username."""
        return _learner_name(obj)

    def course_title(self, obj: Enrollment) -> str:
        """The course's title."""
        return obj.course.title

    def status_label(self, obj: Enrollment) -> str:
        """The status as a tag."""
        return format_html('<span class="w-status{}">{}</span>',
                           " w-status--primary" if obj.status == Enrollment.Status.PENDING_APPROVAL else "",
                           obj.get_status_display())

    def progress(self, obj: Enrollment) -> str:
        """e.g. "40% (2 of 5)"."""
        return f"{obj.progress_percent}% ({obj.completed_lessons} of {obj.total_lessons})"

    learner.short_description = "Learner"  # type: ignore[attr-defined]
    course_title.short_description = "Course"  # type: ignore[attr-defined]
    course_title.admin_order_field = "course__title"  # type: ignore[attr-defined]
    status_label.short_description = "Status"  # type: ignore[attr-defined]
    status_label.admin_order_field = "status"  # type: ignore[attr-defined]
    progress.short_description = "Progress"  # type: ignore[attr-defined]
    progress.admin_order_field = "progress_percent"  # type: ignore[attr-defined]

    def approve_view(self, request: HttpRequest, instance_pk: str) -> HttpResponse:
        """The approve action."""
        return ApproveEnrollmentView.as_view(model_admin=self, instance_pk=instance_pk)(request)

    def cancel_view(self, request: HttpRequest, instance_pk: str) -> HttpResponse:
        """The cancel action."""
        return CancelEnrollmentView.as_view(model_admin=self, instance_pk=instance_pk)(request)

    def get_admin_urls_for_registration(self) -> tuple[Any, ...]:
        """The standard URLs plus approve and cancel."""
        urls = super().get_admin_urls_for_registration()
        helper = self.url_helper
        return (
            *urls,
            re_path(helper.get_action_url_pattern("approve"), self.approve_view, name=helper.get_action_url_name("approve")),
            re_path(helper.get_action_url_pattern("cancel"), self.cancel_view, name=helper.get_action_url_name("cancel")),
        )


class ProgressReportPermissionHelper(ReadOnlyEnrollmentPermissionHelper):
    """The report is a read-only view of enrollments: no inspect, approve or cancel."""

    def user_can_inspect_obj(self, user: Any, obj: Any) -> bool:
        """No inspect page for report rows."""
        return False

    def user_can_approve_obj(self, user: Any, obj: Enrollment) -> bool:
        """Not from the report."""
        return False

    def user_can_cancel_obj(self, user: Any, obj: Enrollment) -> bool:
        """Not from the report."""
        return False


class CourseProgressReportAdmin(ModelAdmin):
    """Per-course progress: learners, percent complete, last activity; CSV export."""

    model = CourseProgressReport
    menu_label = "Progress report"
    menu_icon = "table"
    menu_order = 200
    permission_helper_class = ProgressReportPermissionHelper
    url_helper_class = NumericPkURLHelper
    index_view_class = SafeLookupIndexView
    history_view_enabled = False
    list_display = ("learner", "email", "course_title", "cohort_name", "status", "percent", "lessons", "last_activity_at")
    list_filter = (("course", VisibleCourseListFilter), VisibleCohortListFilter, "status")
    search_fields = ("user__username", "user__email", "course__title")
    list_per_page = 100
    list_export = (
        "learner", "email", "course_title", "status_text", "percent_complete", "lessons_completed",
        "lessons_total", "last_activity_at", "requested_at", "cohort_name",
    )
    export_filename = "progress-report"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        """The report's rows of courses the user may see (one query with learner and course joined)."""
        return visible_enrollments(request.user, selectors.course_progress_report())

    def learner(self, obj: Enrollment) -> str:
        """Learner's name and username."""
        return _learner_name(obj)

    def email(self, obj: Enrollment) -> str:
        """Learner's email."""
        return obj.user.email

    def course_title(self, obj: Enrollment) -> str:
        """The course's title."""
        return obj.course.title

    def cohort_name(self, obj: Enrollment) -> str:
        """The learner's cohort (the course's default one when they are in none)."""
        return getattr(obj, "cohort_label", "") or ""

    def percent(self, obj: Enrollment) -> str:
        """Percent of the published lessons completed (text, so 0 is not shown as empty)."""
        return str(obj.progress_percent)

    def lessons(self, obj: Enrollment) -> str:
        """e.g. "2 of 5"."""
        return f"{obj.completed_lessons} of {obj.total_lessons}"

    def status_text(self, obj: Enrollment) -> str:
        """The status as people read it ("Pending approval"), for exports."""
        return obj.get_status_display()

    def percent_complete(self, obj: Enrollment) -> int:
        """Percent complete as a number, for exports."""
        return obj.progress_percent

    def lessons_completed(self, obj: Enrollment) -> int:
        """Lessons completed as a number, for exports."""
        return obj.completed_lessons

    def lessons_total(self, obj: Enrollment) -> int:
        """Published lessons of the course as a number, for exports."""
        return obj.total_lessons

    learner.short_description = "Learner"  # type: ignore[attr-defined]
    email.short_description = "Email"  # type: ignore[attr-defined]
    course_title.short_description = "Course"  # type: ignore[attr-defined]
    cohort_name.short_description = "Cohort"  # type: ignore[attr-defined]
    percent.short_description = "Percent complete"  # type: ignore[attr-defined]
    percent.admin_order_field = "progress_percent"  # type: ignore[attr-defined]
    lessons.short_description = "Lessons completed"  # type: ignore[attr-defined]
    status_text.short_description = "Status"  # type: ignore[attr-defined]
    percent_complete.short_description = "Percent complete"  # type: ignore[attr-defined]
    lessons_completed.short_description = "Lessons completed"  # type: ignore[attr-defined]
    lessons_total.short_description = "Lessons in the course"  # type: ignore[attr-defined]


class LearningAdminGroup(ModelAdminGroup):
    """The "Learning" admin menu."""

    menu_label = "Learning"
    menu_icon = "group"
    menu_order = 250
    items = (EnrollmentAdmin, CourseProgressReportAdmin)


class LearningSummaryPanel(Component):
    """Admin home panel: active learners and pending approvals, with links to act on them."""

    name = "learning_summary"
    template_name = "learning/admin/summary_panel.html"
    order = 50

    def __init__(self, enrollments_url: str) -> None:
        self.enrollments_url = enrollments_url

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        """The counts (one query) and the listing URLs."""
        context = super().get_context_data(parent_context)
        visible = access.staff_enrollment_filter(access.viewer(parent_context["request"].user))
        context.update(summary=selectors.admin_summary(visible=visible), enrollments_url=self.enrollments_url)
        return context
