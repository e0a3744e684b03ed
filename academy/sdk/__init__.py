"""``academy.sdk``: the one module a plugin imports from Academy's core.

Everything a plugin needs from core is a name here: the access policy's answers and the staff
rule, the progress shape, domain events and their payload types, live frames (groups and
``publish``), template slots, lesson kinds, the page-cache purge, an admin view base, rate-limit
doors, background tasks and schedules, and the contract test kit. A plugin imports Django,
Wagtail, DRF and Channels as it likes, and core only as ``from academy.sdk import ...``; the
floors test (``tests/academy/test_sdk_floor.py``) holds every plugin in ``plugins/`` and the
``startplugin`` scaffold to it. docs/plugins.md is the reference of every name.

A thin facade: each name is core's own object (the same function, class or event), defined once
where its rule lives; nothing here copies logic. Names load on first use (PEP 562), so a
plugin's ``apps.py`` can import :class:`PluginConfig` while Django's settings are still being
read, and a model class only loads once the app registry allows it.

**Versioning.** ``SDK_VERSION`` is the core version (``academy.__version__``); a plugin states
the lowest one it needs as ``min_core_version``. Within a major version a name in ``__all__``
keeps its signature: new keyword arguments come with defaults, new payload keys may be added.
**Deprecation policy:** a name is removed or changed incompatibly only after one minor version
in which using it raises a ``DeprecationWarning`` naming its replacement (deprecated in 0.N,
removed in 0.N+1 at the earliest; listed in ``DEPRECATED`` meanwhile).
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from academy import __version__

#: The SDK's version: the core version it ships with (``academy.__version__``).
SDK_VERSION: str = __version__

# Each public name -> the private submodule that re-exports it from its one home in core.
_HOMES: dict[str, str] = {
    # Plugin metadata (safe at settings time).
    "PluginConfig": "_registry",
    # Activation, slots, URL marker.
    "SLOTS": "_plugins",
    "SlotFragment": "_plugins",
    "activation_table": "_plugins",
    "active_plugins": "_plugins",
    "is_active": "_plugins",
    "serves_when_switched_off": "_plugins",
    "Impact": "_plugins",
    "switch_off_impact": "_plugins",
    # Event machinery.
    "EVENTS": "_events",
    "Event": "_events",
    "PayloadError": "_events",
    "on_event": "_events",
    # Core's domain events and payloads.
    "CourseCompletedPayload": "_domain_events",
    "CourseContentPublishedPayload": "_domain_events",
    "EnrollmentPayload": "_domain_events",
    "LearnerActivityPayload": "_domain_events",
    "LessonCompletedPayload": "_domain_events",
    "NotificationCreatedPayload": "_domain_events",
    "NotificationReadPayload": "_domain_events",
    "course_completed": "_domain_events",
    "course_content_published": "_domain_events",
    "enrollment_activated": "_domain_events",
    "enrollment_cancelled": "_domain_events",
    "enrollment_requested": "_domain_events",
    "learner_activity": "_domain_events",
    "lesson_completed": "_domain_events",
    "notification_created": "_domain_events",
    "notification_read": "_domain_events",
    # Access policy and staff rule.
    "ACCESS_STATUSES": "_access",
    "LEARNER_PAGE_PERMISSIONS": "_access",
    "MANAGE_LEARNERS_PERMISSION": "_access",
    "VIEW_LEARNERS_PERMISSIONS": "_access",
    "CourseAccess": "_access",
    "Viewer": "_access",
    "Visibility": "_access",
    "access_status_filter": "_access",
    "course_access": "_access",
    "has_access_status": "_access",
    "is_privileged": "_access",
    "lesson_access": "_access",
    "may_manage_learners": "_access",
    "may_read_any": "_access",
    "may_see_learners": "_access",
    "page_visibility": "_access",
    "readable_course_ids": "_access",
    "staff_course_filter": "_access",
    "staff_course_paths": "_access",
    "viewer": "_access",
    "viewer_from_request": "_access",
    "visible_pages_filter": "_access",
    # Staff roles and cohorts (teachers and assistants of a course or of one cohort).
    "may_grade": "_access",
    "may_manage_enrollment": "_access",
    "may_see_enrollment": "_access",
    "may_see_learner": "_access",
    "staff_cohort_ids": "_access",
    "may_open_staff_screen": "_access",
    "staff_enrollment_filter": "_access",
    "staff_learner_rows_filter": "_access",
    "Cohort": "_cohorts",
    "cohort_enrollment_filter": "_cohorts",
    "cohort_of": "_cohorts",
    "default_cohort": "_cohorts",
    "NotOpen": "_access",
    "lesson_not_open": "_access",
    # Models and lesson kinds.
    "CourseIndexPage": "_content",
    "CoursePage": "_content",
    "Enrollment": "_content",
    "LessonPage": "_content",
    "Notification": "_content",
    "kind_is_active": "_content",
    "lesson_kinds": "_content",
    "of_active_kinds": "_content",
    # Progress.
    "CourseProgress": "_progress",
    "LessonLink": "_progress",
    "ProgressData": "_progress",
    "course_lesson_ids": "_progress",
    "learner_course_progress": "_progress",
    # Services and their errors.
    "Conflict": "_services",
    "Forbidden": "_services",
    "InvalidInput": "_services",
    "LessonNotAvailable": "_services",
    "LessonRestricted": "_services",
    "NotEnrolled": "_services",
    "NotFound": "_services",
    "ProgressResult": "_services",
    "RateLimited": "_services",
    "ServiceError": "_services",
    "lesson_progress_record": "_services",
    "notification_create": "_services",
    "LessonNotOpen": "_services",
    "lesson_require_open": "_services",
    # The gradebook.
    "CourseGrade": "_gradebook",
    "GradeChangedPayload": "_gradebook",
    "course_grade_of": "_gradebook",
    "format_percent": "_gradebook",
    "grade_changed": "_gradebook",
    "grade_record": "_gradebook",
    # Live frames.
    "course_group": "_live",
    "course_staff_group": "_live",
    "current_cursor": "_live",
    "publish": "_live",
    "user_notifications_group": "_live",
    "user_progress_group": "_live",
    # Page cache.
    "purge_course": "_cache",
    "purge_page": "_cache",
    # API views.
    "AbsoluteUrlField": "_api",
    "ApiView": "_api",
    "InputSerializer": "_api",
    # Admin.
    "COURSE_STAFF_LINKS_HOOK": "_admin",
    "CourseStaffLink": "_admin",
    "COURSE_ANALYTICS_FIGURES_HOOK": "_admin",
    "AnalyticsFigure": "_admin",
    "NumericPkURLHelper": "_admin",
    "PluginAdminView": "_admin",
    "SafeLookupIndexView": "_admin",
    "VisibleCourseListFilter": "_admin",
    "PROGRESS_EXPORT_COLUMNS_HOOK": "_admin",
    "ExportColumn": "_admin",
    # Rate limits.
    "Decision": "_limits",
    "Limit": "_limits",
    "Rate": "_limits",
    "check_limits": "_limits",
    "client_address": "_limits",
    "refusal_response": "_limits",
    "register_door": "_limits",
    "reset_rate_limits": "_limits",
    # Tasks and schedules.
    "ScheduledTask": "_tasks",
    "enqueue": "_tasks",
    # Configuration and URLs.
    "env_bool": "_env",
    "env_int": "_env",
    "env_rate": "_env",
    "env_str": "_env",
    "absolute_url": "_web",
    "safe_next_url": "_web",
    # The contract kit.
    "PluginContract": "testing",
    "World": "testing",
    "build_world": "testing",
    "live_frames": "testing",
    "set_plugin_state": "testing",
}

#: Deprecated names: old name -> (replacement, deprecated in, removed in). Using one warns.
DEPRECATED: dict[str, tuple[str, str, str]] = {}

#: What the names that are values (not classes or functions) are: their documentation.
VALUE_DOCS: dict[str, str] = {
    "SDK_VERSION": "The SDK's version: the core version it ships with.",
    "SLOTS": "Slot name -> where core renders it and what its fragments get as ``target``.",
    "EVENTS": "Every domain event by name (core's and the plugins'), filled as events are defined.",
    "ACCESS_STATUSES": "Enrollment statuses that open a course's lessons (active, completed).",
    "LEARNER_PAGE_PERMISSIONS": "Wagtail page permissions that make a course a staff member's own.",
    "MANAGE_LEARNERS_PERMISSION": "The model permission to enroll, unenroll and message learners.",
    "VIEW_LEARNERS_PERMISSIONS": "The staff rule's default model permissions (on enrollments).",
    "COURSE_ANALYTICS_FIGURES_HOOK": "Wagtail hook name: fn(*, course) -> [AnalyticsFigure] adds labelled figures to a course's Analytics screen.",
    "COURSE_STAFF_LINKS_HOOK": "Wagtail hook name: fn(*, course, user) -> [CourseStaffLink] adds a course's staff tool.",
    "PROGRESS_EXPORT_COLUMNS_HOOK": "Wagtail hook name: fn(*, course) -> [ExportColumn] adds columns to a course's progress export.",
    "course_completed": "Event: a learner completed every counted lesson (CourseCompletedPayload).",
    "course_content_published": "Event: a course or lesson was published (CourseContentPublishedPayload).",
    "enrollment_activated": "Event: an enrollment opened the course (EnrollmentPayload).",
    "enrollment_cancelled": "Event: an enrollment was cancelled (EnrollmentPayload).",
    "enrollment_requested": "Event: a learner asked to join a course (EnrollmentPayload).",
    "learner_activity": "Event: a learner recorded progress on a lesson (LearnerActivityPayload).",
    "lesson_completed": "Event: a learner finished a lesson, once (LessonCompletedPayload).",
    "notification_created": "Event: a notification row was stored (NotificationCreatedPayload).",
    "notification_read": "Event: a learner marked notifications read (NotificationReadPayload).",
    "grade_changed": "Event: a learner's grade was recorded or overridden (GradeChangedPayload).",
    "switch_off_impact": "Signal (kwargs plugin, course_ids): return [(what, count)] that switching "
                         "``plugin`` off changes; shown to the editor before they confirm.",
}

__all__ = [
    "ACCESS_STATUSES",
    "COURSE_ANALYTICS_FIGURES_HOOK",
    "COURSE_STAFF_LINKS_HOOK",
    "DEPRECATED",
    "EVENTS",
    "LEARNER_PAGE_PERMISSIONS",
    "MANAGE_LEARNERS_PERMISSION",
    "PROGRESS_EXPORT_COLUMNS_HOOK",
    "SDK_VERSION",
    "SLOTS",
    "VALUE_DOCS",
    "VIEW_LEARNERS_PERMISSIONS",
    "AbsoluteUrlField",
    "AnalyticsFigure",
    "ApiView",
    "Cohort",
    "Conflict",
    "CourseAccess",
    "CourseCompletedPayload",
    "CourseContentPublishedPayload",
    "CourseGrade",
    "CourseIndexPage",
    "CoursePage",
    "CourseProgress",
    "CourseStaffLink",
    "Decision",
    "Enrollment",
    "EnrollmentPayload",
    "Event",
    "ExportColumn",
    "Forbidden",
    "GradeChangedPayload",
    "Impact",
    "InputSerializer",
    "InvalidInput",
    "LearnerActivityPayload",
    "LessonCompletedPayload",
    "LessonLink",
    "LessonNotAvailable",
    "LessonNotOpen",
    "LessonPage",
    "LessonRestricted",
    "Limit",
    "NotEnrolled",
    "NotFound",
    "NotOpen",
    "Notification",
    "NotificationCreatedPayload",
    "NotificationReadPayload",
    "NumericPkURLHelper",
    "PayloadError",
    "PluginAdminView",
    "PluginConfig",
    "PluginContract",
    "ProgressData",
    "ProgressResult",
    "Rate",
    "RateLimited",
    "SafeLookupIndexView",
    "ScheduledTask",
    "ServiceError",
    "SlotFragment",
    "Viewer",
    "Visibility",
    "VisibleCourseListFilter",
    "World",
    "absolute_url",
    "access_status_filter",
    "activation_table",
    "active_plugins",
    "build_world",
    "check_limits",
    "client_address",
    "cohort_enrollment_filter",
    "cohort_of",
    "course_access",
    "course_completed",
    "course_content_published",
    "course_grade_of",
    "course_group",
    "course_lesson_ids",
    "course_staff_group",
    "current_cursor",
    "default_cohort",
    "enqueue",
    "enrollment_activated",
    "enrollment_cancelled",
    "enrollment_requested",
    "env_bool",
    "env_int",
    "env_rate",
    "env_str",
    "format_percent",
    "grade_changed",
    "grade_record",
    "has_access_status",
    "is_active",
    "is_privileged",
    "kind_is_active",
    "learner_activity",
    "learner_course_progress",
    "lesson_access",
    "lesson_completed",
    "lesson_kinds",
    "lesson_not_open",
    "lesson_progress_record",
    "lesson_require_open",
    "live_frames",
    "may_grade",
    "may_manage_enrollment",
    "may_manage_learners",
    "may_open_staff_screen",
    "may_read_any",
    "may_see_enrollment",
    "may_see_learner",
    "may_see_learners",
    "notification_create",
    "notification_created",
    "notification_read",
    "of_active_kinds",
    "on_event",
    "page_visibility",
    "publish",
    "purge_course",
    "purge_page",
    "readable_course_ids",
    "refusal_response",
    "register_door",
    "reset_rate_limits",
    "safe_next_url",
    "serves_when_switched_off",
    "set_plugin_state",
    "staff_cohort_ids",
    "staff_course_filter",
    "staff_course_paths",
    "staff_enrollment_filter",
    "staff_learner_rows_filter",
    "switch_off_impact",
    "user_notifications_group",
    "user_progress_group",
    "viewer",
    "viewer_from_request",
    "visible_pages_filter",
]


def __getattr__(name: str) -> Any:
    """Load ``name`` from its home on first use (and warn for a deprecated name)."""
    if name in DEPRECATED:
        replacement, since, removed = DEPRECATED[name]
        warnings.warn(
            f"academy.sdk.{name} is deprecated since {since} and removed in {removed}: use {replacement}",
            DeprecationWarning,
            stacklevel=2,
        )
        return __getattr__(replacement)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'academy.sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names."""
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and editors see; the runtime loads through __getattr__
    from academy.sdk._access import (
        ACCESS_STATUSES,
        LEARNER_PAGE_PERMISSIONS,
        MANAGE_LEARNERS_PERMISSION,
        VIEW_LEARNERS_PERMISSIONS,
        CourseAccess,
        NotOpen,
        Viewer,
        Visibility,
        access_status_filter,
        course_access,
        has_access_status,
        is_privileged,
        lesson_access,
        lesson_not_open,
        may_grade,
        may_manage_enrollment,
        may_manage_learners,
        may_open_staff_screen,
        may_read_any,
        may_see_enrollment,
        may_see_learner,
        may_see_learners,
        page_visibility,
        readable_course_ids,
        staff_cohort_ids,
        staff_course_filter,
        staff_course_paths,
        staff_enrollment_filter,
        staff_learner_rows_filter,
        viewer,
        viewer_from_request,
        visible_pages_filter,
    )
    from academy.sdk._admin import (
        COURSE_ANALYTICS_FIGURES_HOOK,
        COURSE_STAFF_LINKS_HOOK,
        PROGRESS_EXPORT_COLUMNS_HOOK,
        AnalyticsFigure,
        CourseStaffLink,
        ExportColumn,
        NumericPkURLHelper,
        PluginAdminView,
        SafeLookupIndexView,
        VisibleCourseListFilter,
    )
    from academy.sdk._api import AbsoluteUrlField, ApiView, InputSerializer
    from academy.sdk._cache import purge_course, purge_page
    from academy.sdk._cohorts import Cohort, cohort_enrollment_filter, cohort_of, default_cohort
    from academy.sdk._content import (
        CourseIndexPage,
        CoursePage,
        Enrollment,
        LessonPage,
        Notification,
        kind_is_active,
        lesson_kinds,
        of_active_kinds,
    )
    from academy.sdk._domain_events import (
        CourseCompletedPayload,
        CourseContentPublishedPayload,
        EnrollmentPayload,
        LearnerActivityPayload,
        LessonCompletedPayload,
        NotificationCreatedPayload,
        NotificationReadPayload,
        course_completed,
        course_content_published,
        enrollment_activated,
        enrollment_cancelled,
        enrollment_requested,
        learner_activity,
        lesson_completed,
        notification_created,
        notification_read,
    )
    from academy.sdk._env import env_bool, env_int, env_rate, env_str
    from academy.sdk._events import EVENTS, Event, PayloadError, on_event
    from academy.sdk._gradebook import (
        CourseGrade,
        GradeChangedPayload,
        course_grade_of,
        format_percent,
        grade_changed,
        grade_record,
    )
    from academy.sdk._limits import (
        Decision,
        Limit,
        Rate,
        check_limits,
        client_address,
        refusal_response,
        register_door,
        reset_rate_limits,
    )
    from academy.sdk._live import (
        course_group,
        course_staff_group,
        current_cursor,
        publish,
        user_notifications_group,
        user_progress_group,
    )
    from academy.sdk._plugins import (
        SLOTS,
        Impact,
        SlotFragment,
        activation_table,
        active_plugins,
        is_active,
        serves_when_switched_off,
        switch_off_impact,
    )
    from academy.sdk._progress import (
        CourseProgress,
        LessonLink,
        ProgressData,
        course_lesson_ids,
        learner_course_progress,
    )
    from academy.sdk._registry import PluginConfig
    from academy.sdk._services import (
        Conflict,
        Forbidden,
        InvalidInput,
        LessonNotAvailable,
        LessonNotOpen,
        LessonRestricted,
        NotEnrolled,
        NotFound,
        ProgressResult,
        RateLimited,
        ServiceError,
        lesson_progress_record,
        lesson_require_open,
        notification_create,
    )
    from academy.sdk._tasks import ScheduledTask, enqueue
    from academy.sdk._web import absolute_url, safe_next_url
    from academy.sdk.testing import (
        PluginContract,
        World,
        build_world,
        live_frames,
        set_plugin_state,
    )
