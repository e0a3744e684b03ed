"""Staff and integration endpoints of API v1: a course's enrollments (list, enroll, approve,
cancel, unenroll), its progress report and gradebook, and people by external id. For an HR or SIS sync.

Who: the course's staff by the access policy's staff rule, exactly as the admin asks
(``access.may_see_learners`` to read, ``may_manage_learners`` to write, the lists filtered by
``access.staff_enrollment_filter``): a course that is not the caller's is a 403, an unknown one a
404. Token scopes (``learning.tokens.SCOPES``) narrow what a service account's token or an app's
OAuth token may do (403 ``insufficient_scope``). Calls count against the ``staff`` throttle (per token, separate
from the learner's limits) and answer the ``RateLimit-*`` headers. Writes go through
``learning.integrations`` (one transaction per learner of a batch).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from learning import access, gradebook, integrations, services, tokens
from learning.api import staff_serializers as shapes
from learning.api.serializers import MAX_ID, ErrorSerializer
from learning.api.throttling import StaffRateThrottle, rate_headers
from learning.api.views import ApiView, _query
from learning.cohorts import cohort_id_enrollment_filter
from learning.models import Cohort, Enrollment

_RATE_HEADER_PARAMETERS = [
    OpenApiParameter(name, type=int, location=OpenApiParameter.HEADER, response=True, description=description)
    for name, description in (
        ("RateLimit-Limit", "Calls this token may make in the window (the staff rate)."),
        ("RateLimit-Remaining", "Calls left in the window now."),
        ("RateLimit-Reset", "Seconds until a refused call is let in, or the window's length."),
    )
]


class StaffApiView(ApiView):
    """Base of the staff endpoints: authenticated, the ``staff`` throttle only, a scope per
    method (``scopes``), and the rate headers on every answer."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [StaffRateThrottle]

    def scope_for(self, method: str) -> str | None:
        """The scope a token needs for ``method`` (a method without its own: read at least)."""
        return self.scopes.get("GET" if method == "HEAD" else method, tokens.SCOPE_READ)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """The house's answer, with the ``RateLimit-*`` headers."""
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in rate_headers(request).items():
            response[name] = value
        return response


def _course(request: Request, course_id: int, *, manage: bool) -> Any:
    return integrations.course_for_staff(course_id=course_id, by=request.user, manage=manage)


class CohortFilter(drf_serializers.Serializer):
    cohort = drf_serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                          help_text="Only this cohort's learners.")


class StaffEnrollmentFilters(CohortFilter):
    status = drf_serializers.ChoiceField(choices=Enrollment.Status.choices, required=False)


STAFF_ERRORS = {403: OpenApiResponse(ErrorSerializer, description="Not staff of this course, or the token's scopes "
                                     "do not allow this call (insufficient_scope).")}


class CourseEnrollmentsView(StaffApiView):
    scopes = {"GET": tokens.SCOPE_READ, "POST": tokens.SCOPE_ENROLL}

    @extend_schema(operation_id="course_enrollments_list", parameters=[StaffEnrollmentFilters, *_RATE_HEADER_PARAMETERS],
                   responses={200: shapes.StaffEnrollmentSerializer(many=True), **STAFF_ERRORS}, tags=["staff"])
    def get(self, request: Request, course_id: int) -> Response:
        """Staff: the course's enrollments (those of the learners you may see), newest first,
        with status, cohort and progress. Filters: status, cohort. Scope: read."""
        course = _course(request, course_id, manage=False)
        filters = _query(request, StaffEnrollmentFilters)
        rows = integrations.staff_enrollments(course=course, by=request.user)
        if filters.get("status"):
            rows = rows.filter(status=filters["status"])
        if filters.get("cohort"):
            rows = rows.filter(cohort_id_enrollment_filter(filters["cohort"], course_id=course.pk))
        return self.get_paginated_response(shapes.StaffEnrollmentSerializer(self.page_of(rows), many=True).data)

    @extend_schema(operation_id="course_enrollments_create", request=shapes.StaffEnrollSerializer,
                   parameters=_RATE_HEADER_PARAMETERS,
                   responses={200: shapes.BatchResultSerializer, **STAFF_ERRORS}, tags=["staff"])
    def post(self, request: Request, course_id: int) -> Response:
        """Staff: enroll learners by id, username or email (active at once, as the admin's
        enroll); an email nobody has is invited (the invitation enrolls them at sign-up). Each
        learner in its own transaction: the answer lists each one's result (enrolled, already,
        invited, error with a code). A batch whose invitations exceed your invitation limit is
        refused whole (429). Scope: enroll."""
        course = _course(request, course_id, manage=True)
        body = shapes.StaffEnrollSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cohort = integrations.cohort_of(course=course, cohort_id=body.validated_data.get("cohort_id"))
        learners = [integrations.LearnerRef(**ref) for ref in body.validated_data["users"]]
        results = integrations.enroll_many(course=course, by=request.user, learners=learners, cohort=cohort)
        return Response(shapes.batch_data(results))


class _DecideView(StaffApiView):
    scopes = {"POST": tokens.SCOPE_ENROLL}
    approve = True

    def post(self, request: Request, course_id: int) -> Response:
        course = _course(request, course_id, manage=True)
        body = shapes.EnrollmentIdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decide = integrations.approve_many if self.approve else integrations.cancel_many
        results = decide(course=course, by=request.user, enrollment_ids=body.validated_data["enrollment_ids"])
        return Response(shapes.batch_data(results))


class CourseEnrollmentsApproveView(_DecideView):
    approve = True

    @extend_schema(operation_id="course_enrollments_approve", request=shapes.EnrollmentIdsSerializer,
                   parameters=_RATE_HEADER_PARAMETERS,
                   responses={200: shapes.BatchResultSerializer, **STAFF_ERRORS}, tags=["staff"])
    def post(self, request: Request, course_id: int) -> Response:
        """Staff: approve pending enrollments of the course, each in its own transaction
        (approved, already, or error: not_found, own_enrollment, conflict...). Scope: enroll."""
        return super().post(request, course_id)


class CourseEnrollmentsCancelView(_DecideView):
    approve = False

    @extend_schema(operation_id="course_enrollments_cancel", request=shapes.EnrollmentIdsSerializer,
                   parameters=_RATE_HEADER_PARAMETERS,
                   responses={200: shapes.BatchResultSerializer, **STAFF_ERRORS}, tags=["staff"])
    def post(self, request: Request, course_id: int) -> Response:
        """Staff: cancel (unenroll) enrollments of the course, each in its own transaction;
        progress is kept. Scope: enroll."""
        return super().post(request, course_id)


class CourseEnrollmentView(StaffApiView):
    scopes = {"DELETE": tokens.SCOPE_ENROLL}

    @extend_schema(operation_id="course_enrollments_destroy", parameters=_RATE_HEADER_PARAMETERS,
                   responses={200: shapes.StaffEnrollmentSerializer, **STAFF_ERRORS}, tags=["staff"])
    def delete(self, request: Request, course_id: int, enrollment_id: int) -> Response:
        """Staff: unenroll one learner (the enrollment is cancelled, its progress kept; again:
        no change). 404 for an enrollment that is not this course's among your learners.
        Scope: enroll."""
        course = _course(request, course_id, manage=True)
        rows = integrations.staff_enrollments(course=course, by=request.user)
        if not rows.filter(pk=enrollment_id).exists():
            raise integrations.EnrollmentNotFound()
        services.enrollment_cancel(enrollment=enrollment_id, by=request.user, as_staff=True)
        return Response(shapes.StaffEnrollmentSerializer(rows.get(pk=enrollment_id)).data)


class CourseProgressReportView(StaffApiView):
    scopes = {"GET": tokens.SCOPE_REPORT}

    @extend_schema(operation_id="course_progress_report", parameters=_RATE_HEADER_PARAMETERS,
                   responses={200: shapes.ProgressRowSerializer(many=True), **STAFF_ERRORS}, tags=["staff"])
    def get(self, request: Request, course_id: int) -> Response:
        """Staff: the course's progress report (the admin's export rows, as JSON), one row per
        learner you may see. Scope: report."""
        course = _course(request, course_id, manage=False)
        rows = integrations.staff_enrollments(course=course, by=request.user)
        return self.get_paginated_response(shapes.ProgressRowSerializer(self.page_of(rows), many=True).data)


class CourseGradebookView(StaffApiView):
    scopes = {"GET": tokens.SCOPE_REPORT}

    @extend_schema(operation_id="course_gradebook", parameters=[CohortFilter, *_RATE_HEADER_PARAMETERS],
                   responses={200: shapes.GradebookRowSerializer(many=True), **STAFF_ERRORS}, tags=["staff"])
    def get(self, request: Request, course_id: int) -> Response:
        """Staff: the course's gradebook (the admin's grid, as JSON), one row per learner you may
        see (active or completed enrollments), newest enrollment first: each graded lesson's
        grade with late and override marks, the course grade and whether it passes. Filter:
        cohort. Who: as the admin's gradebook screen. Scope: report."""
        course = _course(request, course_id, manage=False)
        filters = _query(request, CohortFilter)
        items = gradebook.graded_items(course)
        rows = (
            gradebook.grid_enrollments(course=course, who=access.viewer(request.user), cohort_id=filters.get("cohort"))
            .select_related("user", "cohort").prefetch_related("user__external_ids")
        )
        enrollments = self.page_of(rows)
        # Learners placed in no cohort count in the course's default one, as the admin's grid shows.
        default = (
            Cohort.objects.filter(course_id=course.pk, is_default=True).first()
            if any(row.cohort_id is None for row in enrollments) else None
        )
        page = gradebook.rows_of_page(enrollments, course=course, items=items)
        context = {"titles": {item.pk: item.title for item in items}, "default_cohort": default}
        return self.get_paginated_response(shapes.GradebookRowSerializer(page, many=True, context=context).data)


_EXTERNAL_PARAMETERS = [
    OpenApiParameter("system", {"type": "string", "minLength": 1, "maxLength": shapes.SYSTEM_MAX,
                                "pattern": "^[-a-zA-Z0-9_]+$"}, OpenApiParameter.PATH,
                     description="The other system's name (letters, digits, - and _)."),
    OpenApiParameter("external_id", {"type": "string", "minLength": 1, "maxLength": integrations.EXTERNAL_ID_MAX,
                                     "pattern": f"^{integrations.EXTERNAL_ID_REGEX}$"}, OpenApiParameter.PATH,
                     description="The person's id in that system (visible ASCII, no slash; inner spaces allowed)."),
    *_RATE_HEADER_PARAMETERS,
]


class ExternalUserView(StaffApiView):
    scopes = {"GET": tokens.SCOPE_USERS, "PUT": tokens.SCOPE_USERS}

    @extend_schema(operation_id="users_by_external_id_retrieve", parameters=_EXTERNAL_PARAMETERS,
                   responses={200: shapes.ExternalUserSerializer, **STAFF_ERRORS}, tags=["staff"])
    def get(self, request: Request, system: str, external_id: str) -> Response:
        """Look a user up by their id in another system. Needs the users permission
        (auth.view_user or auth.change_user). Scope: users."""
        found = integrations.external_user_get(system=system, external_id=external_id, by=request.user)
        return Response(shapes.ExternalUserSerializer(found).data)

    @extend_schema(operation_id="users_by_external_id_put", parameters=_EXTERNAL_PARAMETERS,
                   request=shapes.ExternalUserPutSerializer,
                   responses={200: shapes.ExternalUserSerializer, 201: shapes.ExternalUserSerializer, **STAFF_ERRORS},
                   tags=["staff"])
    def put(self, request: Request, system: str, external_id: str) -> Response:
        """Create or update the user with this id in another system (idempotent: the same body
        again changes nothing, 200 with changed false). A new id is linked to the user who has
        the email, or a new user is made (201). ``active: false`` deactivates. Needs
        auth.change_user (and auth.add_user to create); staff and administrator accounts are
        left to the admin (403). Scope: users."""
        body = shapes.ExternalUserPutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = integrations.external_user_put(system=system, external_id=external_id, by=request.user,
                                                **body.validated_data)
        return Response(shapes.ExternalUserSerializer(result).data, status=201 if result.created else 200)
