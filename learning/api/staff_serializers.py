"""Shapes of the staff and integration endpoints (``learning.api.staff_views``). Input refuses
unknown fields (``InputSerializer``); output reads what ``learning.integrations`` returned."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from learning import gradebook, integrations
from learning.api.serializers import MAX_ID, InputSerializer
from learning.models import Enrollment, ExternalId

RESULTS = (
    integrations.ENROLLED, integrations.ALREADY, integrations.INVITED,
    integrations.APPROVED, integrations.CANCELLED, integrations.ERROR,
)
SYSTEM_MAX = ExternalId._meta.get_field("system").max_length


# --- Input ------------------------------------------------------------------------------------------


class LearnerRefSerializer(InputSerializer):
    """One learner, by exactly one of id, username or email. An email nobody has is invited."""

    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    username = serializers.CharField(required=False, max_length=150)
    email = serializers.EmailField(required=False, max_length=254)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Exactly one way of naming the learner."""
        if len(attrs) != 1:
            raise serializers.ValidationError("Give exactly one of id, username or email.")
        return attrs


class StaffEnrollSerializer(InputSerializer):
    users = serializers.ListField(
        child=LearnerRefSerializer(), min_length=1, max_length=integrations.MAX_BATCH,
        help_text=f"Up to {integrations.MAX_BATCH} learners; each is enrolled (or invited) in its own transaction.",
    )
    cohort_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="Place every learner of the call in this cohort of the course (moving those already in).",
    )


class EnrollmentIdsSerializer(InputSerializer):
    enrollment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1, max_length=integrations.MAX_BATCH,
        help_text=f"Up to {integrations.MAX_BATCH} enrollments of this course; each decided in its own transaction.",
    )


class ExternalUserPutSerializer(InputSerializer):
    """The person as the other system knows them; the same body again changes nothing."""

    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(required=False, default="", allow_blank=True, max_length=integrations.NAME_MAX)
    last_name = serializers.CharField(required=False, default="", allow_blank=True, max_length=integrations.NAME_MAX)
    username = serializers.RegexField(
        r"^[\w.@+-]+(?!\n)$", required=False, max_length=150,
        help_text="Only used when the user is created (default: the email, other characters than letters, "
        "digits and @.+-_ made _).",
    )
    active = serializers.BooleanField(required=False, default=True, help_text="false deactivates the account.")


# --- Output -----------------------------------------------------------------------------------------


class LearnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()


class StaffEnrollmentSerializer(serializers.Serializer):
    """A learner's enrollment as the course's staff see it."""

    id = serializers.IntegerField()
    user = LearnerSerializer()
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    cohort_id = serializers.IntegerField(allow_null=True)
    requested_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    completed_lessons = serializers.IntegerField()
    total_lessons = serializers.IntegerField()
    percent = serializers.IntegerField(source="progress_percent")


class ProgressRowSerializer(serializers.Serializer):
    """A row of the course's progress report (the admin's export, as JSON)."""

    enrollment_id = serializers.IntegerField(source="pk")
    user = LearnerSerializer()
    status = serializers.ChoiceField(choices=Enrollment.Status.choices)
    cohort_id = serializers.IntegerField(allow_null=True)
    percent_complete = serializers.IntegerField(source="progress_percent")
    lessons_completed = serializers.IntegerField(source="completed_lessons")
    lessons_total = serializers.IntegerField(source="total_lessons")
    last_activity_at = serializers.DateTimeField(allow_null=True)
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class ExternalIdSerializer(serializers.Serializer):
    system = serializers.CharField()
    external_id = serializers.CharField()


class CohortRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def _percent_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True, **kwargs)


class GradeCellSerializer(serializers.Serializer):
    """One learner's grade on one graded lesson (``learning.gradebook.GradeCell``)."""

    lesson_id = serializers.IntegerField()
    title = serializers.CharField(help_text="The lesson's title.")
    weight = serializers.IntegerField(help_text="Its weight in the course grade (0: shown, not counted).")
    grade = _percent_field(help_text="The effective grade (the override when set, else the score), percent; "
                           "null: nothing yet.")
    score = _percent_field(help_text="The learner's own score, percent (null: nothing submitted).")
    state = serializers.ChoiceField(
        choices=[(s, s) for s in (gradebook.CellState.GRADED, gradebook.CellState.MISSING, gradebook.CellState.PENDING)],
        help_text="graded (counts), missing (nothing, but due or the course is complete: counts as 0), "
        "pending (nothing yet, not due: left out). Values may be added.",
    )
    late = serializers.BooleanField(help_text="Handed in after the learner's due date.")
    overridden = serializers.BooleanField(help_text="Staff set the grade (grade is the override).")
    due_at = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class GradebookRowSerializer(serializers.Serializer):
    """One learner of the course's gradebook (a row of the admin's grid, as JSON)."""

    enrollment_id = serializers.IntegerField(source="enrollment.pk")
    user = LearnerSerializer(source="enrollment.user")
    external_ids = serializers.SerializerMethodField(help_text="The learner's ids in other systems (may be empty).")
    status = serializers.ChoiceField(choices=Enrollment.Status.choices, source="enrollment.status")
    cohort = serializers.SerializerMethodField(
        help_text="The cohort the learner counts in: their own, or the course's default cohort for one placed in "
        "none (as the admin's grid shows); null only while the course has no cohort at all.",
    )
    grades = serializers.SerializerMethodField(help_text="Each graded lesson of the course, in course order.")
    course_grade = _percent_field(source="grade.percent", help_text="The weighted mean of the counted grades, "
                                  "percent, rounded down to two decimals; null while nothing counts.")
    pending_items = serializers.IntegerField(source="grade.pending",
                                             help_text="Weighted items not counted yet (the grade is 'so far').")
    pass_grade = serializers.IntegerField(source="grade.pass_grade", allow_null=True)
    passed = serializers.BooleanField(source="grade.passed", allow_null=True,
                                      help_text="Null without a pass grade or without a course grade yet.")

    @extend_schema_field(ExternalIdSerializer(many=True))
    def get_external_ids(self, row: gradebook.GridRow) -> list[dict[str, str]]:
        return [{"system": ext.system, "external_id": ext.external_id} for ext in row.enrollment.user.external_ids.all()]

    @extend_schema_field(CohortRefSerializer(allow_null=True))
    def get_cohort(self, row: gradebook.GridRow) -> dict[str, Any] | None:
        cohort = row.enrollment.cohort if row.enrollment.cohort_id is not None else self.context.get("default_cohort")
        return None if cohort is None else {"id": cohort.pk, "name": cohort.name}

    @extend_schema_field(GradeCellSerializer(many=True))
    def get_grades(self, row: gradebook.GridRow) -> list[dict[str, Any]]:
        titles = self.context["titles"]
        return [dict(GradeCellSerializer({**vars(cell), "title": titles[cell.lesson_id]}).data) for cell in row.grade.cells]


class ItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="As the API's errors: e.g. user_not_found, duplicate, forbidden.")
    message = serializers.CharField()


class ItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's place in the request's list (from 0).")
    result = serializers.ChoiceField(choices=[(name, name) for name in RESULTS])
    user_id = serializers.IntegerField(allow_null=True)
    enrollment_id = serializers.IntegerField(allow_null=True)
    error = serializers.SerializerMethodField()

    @extend_schema_field(ItemErrorSerializer(allow_null=True))
    def get_error(self, item: integrations.ItemResult) -> dict[str, str] | None:
        if item.error is None:
            return None
        from learning.api.errors import service_error_code

        return {"code": service_error_code(item.error), "message": item.error.message}


class BatchResultSerializer(serializers.Serializer):
    results = ItemResultSerializer(many=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="How many items had each result.")


def batch_data(results: list[integrations.ItemResult]) -> dict[str, Any]:
    """The body of a batch answer."""
    counts: dict[str, int] = {}
    for item in results:
        counts[item.result] = counts.get(item.result, 0) + 1
    return dict(BatchResultSerializer({"results": results, "counts": counts}).data)


class ExternalUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    active = serializers.BooleanField(source="user.is_active")
    system = serializers.CharField()
    external_id = serializers.CharField()
    created = serializers.BooleanField(help_text="This call made the user.")
    changed = serializers.BooleanField(help_text="This call changed the user (false: it was already so).")


class LearnerRefSchema(OpenApiSerializerExtension):
    """``LearnerRefSerializer`` in the schema: exactly one property (id, username or email)."""

    target_class = LearnerRefSerializer

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        """The serializer's own schema, with one property exactly."""
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "minProperties": 1, "maxProperties": 1}
