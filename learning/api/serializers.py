"""Shapes of the API's input and output. No rules: input serializers check types and ranges
(the services check the rest), output serializers read what the selectors loaded."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from courses.models import Level
from learning import services
from learning.models import Enrollment, Notification
from learning.progress import CourseProgress

# Largest id accepted (PostgreSQL bigint); bigger numbers are malformed input.
MAX_ID = 2**63 - 1


def _django_request(context: dict[str, Any]) -> HttpRequest | None:
    request = context.get("request")
    return getattr(request, "_request", request)


def absolute(url: str, context: dict[str, Any]) -> str:
    """``url`` as an absolute URL on the caller's host (as the pagination's ``next`` is): an app
    can follow it without knowing where the site lives. Empty stays empty."""
    request = _django_request(context)
    if not url or request is None or "://" in url:
        return url
    return request.build_absolute_uri(url)


def _page_url(page: Any, context: dict[str, Any]) -> str:
    from learning.selectors import page_url

    return absolute(page_url(page, _django_request(context)), context)


class AbsoluteUrlField(serializers.CharField):
    """A link read as a path (``/courses/...``) and given as an absolute URL."""

    def to_representation(self, value: Any) -> str:
        """The absolute URL of ``value`` (a path)."""
        return absolute(super().to_representation(value), self.context)


class InputSerializer(serializers.Serializer):
    """A request body: every field it does not declare is a 400 ("Unknown field."), never
    silently ignored (``{"course_id": 1, "user_id": 5}`` must not enroll the caller)."""

    def to_internal_value(self, data: Any) -> Any:
        """The declared fields, validated; unknown ones refused."""
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


# --- Errors --------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: e.g. not_enrolled, throttled.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Input fields and their problems (empty unless the input was invalid).",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers (4xx)."""

    error = ErrorDetailSerializer()


# --- Links, progress ------------------------------------------------------------------------------


class LessonLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = AbsoluteUrlField()


class ProgressFieldsSerializer(serializers.Serializer):
    """The counts of ``learning.progress.ProgressData``, declared once for every API shape that
    shows progress. ``progress_source``: the attribute or key where the object keeps its
    progress (a ``ProgressData`` or a ``CourseProgress``); None when the counts are its own."""

    progress_source: str | None = None

    completed_lessons = serializers.IntegerField()
    total_lessons = serializers.IntegerField()
    percent = serializers.IntegerField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        if self.progress_source:
            for name in ("completed_lessons", "total_lessons", "percent"):
                fields[name].source = f"{self.progress_source}.{name}"
        return fields


class EnrollmentStateSerializer(ProgressFieldsSerializer):
    """The caller's enrollment in a course, as lists show it (from :func:`enrollment_state`)."""

    progress_source = "progress"

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)


def enrollment_state(enrollment: Enrollment) -> dict[str, Any]:
    """What :class:`EnrollmentStateSerializer` reads: the enrollment and its cached progress."""
    return {"id": enrollment.pk, "status": enrollment.status, "progress": CourseProgress.cached(enrollment)}


# --- Courses and lessons --------------------------------------------------------------------------


class InstructorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class CourseSerializer(serializers.Serializer):
    """A course in a list. ``enrollment``: the caller's (null for anonymous callers and courses
    they are not in)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    slug = serializers.CharField()
    url = serializers.SerializerMethodField()
    summary = serializers.CharField()
    level = serializers.ChoiceField(choices=Level.choices)
    estimated_hours = serializers.IntegerField()
    enrollment_mode = serializers.CharField()
    requires_approval = serializers.BooleanField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    tags = serializers.SerializerMethodField()
    instructor = InstructorSerializer(allow_null=True)
    first_published_at = serializers.DateTimeField(allow_null=True)
    enrollment = serializers.SerializerMethodField()

    def get_url(self, course: Any) -> str:
        return _page_url(course, self.context)

    def get_tags(self, course: Any) -> list[str]:
        return [tag.slug for tag in course.tags.all()]

    @extend_schema_field(EnrollmentStateSerializer(allow_null=True))
    def get_enrollment(self, course: Any) -> dict[str, Any] | None:
        enrollment = self.context.get("enrollments", {}).get(course.pk)
        return EnrollmentStateSerializer(enrollment_state(enrollment)).data if enrollment else None


class CourseLessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.SerializerMethodField(
        help_text="The lesson's kind: 'lesson' for core lessons, '<plugin>.<kind>' for a plugin's "
        "(e.g. 'quizzes.quiz'). More kinds may appear: show an unknown kind as a link to its url.",
    )
    url = serializers.SerializerMethodField()
    summary = serializers.CharField()
    estimated_minutes = serializers.IntegerField()
    completed = serializers.SerializerMethodField()

    def get_url(self, lesson: Any) -> str:
        return _page_url(lesson, self.context)

    def get_kind(self, lesson: Any) -> str:
        from courses.lesson_kinds import kind_name

        return kind_name(lesson.content_type_id)

    def get_completed(self, lesson: Any) -> bool | None:
        completed = self.context.get("completed_ids")
        return None if completed is None else lesson.pk in completed


class CourseProgressSerializer(ProgressFieldsSerializer):
    """The caller's place in a course (null for anonymous callers)."""

    status = serializers.CharField(help_text="not_enrolled, or the enrollment's status.")
    can_read = serializers.BooleanField(help_text="May read lesson bodies (enrolled, or staff/editor).")
    next_lesson = LessonLinkSerializer(allow_null=True)
    resume_lesson = LessonLinkSerializer(allow_null=True)


class CourseDetailSerializer(CourseSerializer):
    """One course: its description (HTML), visible lessons and the caller's progress."""

    description_html = serializers.CharField()
    lessons = CourseLessonSerializer(many=True)
    progress = CourseProgressSerializer(allow_null=True)


class LessonSerializer(CourseLessonSerializer):
    """A lesson in a list. ``completed``: null for anonymous callers."""

    course_id = serializers.IntegerField()


class LessonDetailSerializer(LessonSerializer):
    """One lesson. ``body_html`` only for callers who may read it (else null, ``locked`` true)."""

    locked = serializers.BooleanField()
    body_html = serializers.CharField(allow_null=True)


# --- Enrollments ----------------------------------------------------------------------------------


class EnrollmentCourseSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="course_id")
    title = serializers.CharField(source="course_title")
    url = AbsoluteUrlField(source="course_url", help_text="Empty while the course is not visible to you.")


class EnrollmentSerializer(ProgressFieldsSerializer):
    """An enrollment as its learner (or staff) sees it. Lesson links only while it gives access."""

    progress_source = "progress"

    id = serializers.IntegerField(source="enrollment.pk")
    user_id = serializers.IntegerField(source="enrollment.user_id")
    course = EnrollmentCourseSerializer(source="*")
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    has_access = serializers.BooleanField()
    requested_at = serializers.DateTimeField(source="enrollment.requested_at")
    activated_at = serializers.DateTimeField(source="enrollment.activated_at", allow_null=True)
    completed_at = serializers.DateTimeField(source="enrollment.completed_at", allow_null=True)
    cancelled_at = serializers.DateTimeField(source="enrollment.cancelled_at", allow_null=True)
    next_lesson = LessonLinkSerializer(source="progress.next_lesson", allow_null=True)
    resume_lesson = LessonLinkSerializer(source="progress.resume_lesson", allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)


class EnrollmentCreateSerializer(InputSerializer):
    course_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


# --- Progress -------------------------------------------------------------------------------------


class ProgressCreateSerializer(InputSerializer):
    lesson_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    completed = serializers.BooleanField(
        default=True, help_text="true: mark the lesson complete; false: only record the position."
    )
    position = serializers.IntegerField(
        min_value=0, max_value=services.MAX_POSITION, required=False, allow_null=True,
        help_text="How far the learner read (percent).",
    )


class ProgressResultSerializer(ProgressFieldsSerializer):
    """The course progress after recording (the shape of the progress.updated frame, plus flags)."""

    course_id = serializers.IntegerField()
    lesson_id = serializers.IntegerField()
    next_lesson = LessonLinkSerializer(allow_null=True)
    course_completed = serializers.BooleanField()
    newly_completed = serializers.BooleanField()


class LessonProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lesson_id = serializers.IntegerField()
    course_id = serializers.IntegerField()
    completed = serializers.SerializerMethodField()
    completed_at = serializers.DateTimeField(allow_null=True)
    position = serializers.IntegerField(source="last_position")
    updated_at = serializers.DateTimeField()

    def get_completed(self, row: Any) -> bool:
        return row.completed_at is not None


# --- Notifications --------------------------------------------------------------------------------


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    title = serializers.CharField()
    body = serializers.CharField()
    link = AbsoluteUrlField(help_text="Where the notification leads (absolute URL); empty for none.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    is_read = serializers.BooleanField()


class MarkReadSerializer(InputSerializer):
    """Some of the caller's notifications, by id."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1, max_length=services.MAX_NOTIFICATION_IDS,
    )


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many became read.")
    unread_count = serializers.IntegerField()


# --- Me -------------------------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_staff = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    unread_notifications = serializers.IntegerField()
    authenticated_by = serializers.ChoiceField(
        choices=[("session", "session"), ("token", "token"), ("oauth", "oauth")],
        help_text="session (the browser), token (a personal or service account token) or oauth (an app's OAuth 2 token).",
    )
    token_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the token of this request expires (null: session, or no expiry)."
    )
    token_scopes = serializers.ListField(
        child=serializers.CharField(), allow_null=True,
        help_text="The scopes the token is limited to (null: not limited, as a session or a personal token).",
    )


# --- Live connections -----------------------------------------------------------------------------


class SocketTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as ?ticket= on the WebSocket URL; works once.")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket may be used for.")
