"""API v1 views: thin doors over ``learning.services`` (writes), ``learning.selectors`` (reads)
and ``learning.access`` (who may see what). Errors leave as exceptions and become the one JSON
error shape in ``learning.api.errors``.

Who sees what: courses and lessons follow the access policy (published, Wagtail view
restrictions; lesson bodies need an enrollment with access, or staff/editor privilege).
Enrollments, progress and notifications are the caller's own (the lists too, staff included); an
enrollment of someone else is found only by staff whose learners it is by the access policy's
staff rule (``access.may_see_learners``, as in the admin), and is a 404 for everyone else (its
existence is not revealed). Approving and cancelling it asks ``may_manage_learners`` in the
service, as the admin's actions do.

Service and app tokens (``learning.tokens.token_scopes``) act as their user within their scopes:
a view names the scope a method needs (``ApiView.scopes``; acting on someone else's enrollment
needs ``read`` to see it and ``enroll`` to decide it), and a staff power with no scope of its own
(``ApiView.scoped_tokens = False``: webhooks, moderation) is for sessions and personal tokens
only. Everything else is the caller's own, which any token may reach.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from wagtail.rich_text import expand_db_html

from academy import idempotency
from courses.lesson_kinds import is_shown_kind
from courses.models import CoursePage, CourseTag, LessonPage, Level
from courses.selectors import SEARCH_MAX_LESSONS, normalize_search_query
from learning import access, selectors, services, tokens
from learning.api import serializers
from learning.models import Enrollment

# Most courses a search considers (the search backend ranks; the list keeps catalog order).
SEARCH_MAX_COURSES = SEARCH_MAX_LESSONS
QUERY_TEXT_MAX = 200


def viewer(request: Request) -> access.Viewer:
    """The caller for the access policy: with the session for session callers (password
    restrictions passed in the browser count), without one for token callers."""
    session = None if request.auth is not None else getattr(request._request, "session", None)
    return access.viewer(request.user, session)


def _user_id(request: Request) -> int | None:
    user = request.user
    return user.pk if user is not None and user.is_authenticated else None


def _refuse(visibility: access.Visibility, *, missing: type[services.ServiceError],
            restricted: type[services.ServiceError]) -> None:
    if visibility is access.Visibility.NOT_PUBLISHED:
        raise missing()
    if not visibility.visible:
        raise restricted()


class _Replay(Exception):
    """The request repeats an earlier one's ``Idempotency-Key``: answer what it was answered."""

    def __init__(self, stored: idempotency.Stored) -> None:
        self.stored = stored
        super().__init__("replay")


class InsufficientScope(PermissionDenied):
    default_detail = "This token's scopes do not allow this call."
    default_code = "insufficient_scope"


def require_scope(request: Request, scope: str) -> None:
    """Refuse (403 ``insufficient_scope``) a service or app token whose scopes do not name
    ``scope``; sessions and personal tokens pass (their user's permissions decide)."""
    if request.user.is_authenticated and not tokens.token_allows(request.auth, scope):
        raise InsufficientScope(f"This token's scopes do not include {scope!r}.")


class ApiView(GenericAPIView):
    """Base of every v1 view: cursor pagination over a selector's queryset, the token scope
    rule (``scopes``, ``scoped_tokens``) before anything else runs."""

    cursor_ordering = "-pk"
    serializer_class = serializers.ErrorSerializer  # each method declares its own in the schema
    #: The scope a service or app token needs, per method (none named: the caller acts as themself).
    scopes: ClassVar[dict[str, str]] = {}
    #: False for a staff power that no scope grants: sessions and personal tokens only.
    scoped_tokens: ClassVar[bool] = True

    def scope_for(self, method: str) -> str | None:
        """The scope a service or app token needs for ``method`` (HEAD as GET), if any."""
        return self.scopes.get("GET" if method == "HEAD" else method)

    def check_token_scope(self, request: Request) -> None:
        """403 ``insufficient_scope`` for a service or app token this view or method refuses."""
        if not request.user.is_authenticated:
            return
        if not self.scoped_tokens and tokens.token_scopes(request.auth) is not None:
            raise InsufficientScope("Service and app tokens may not call this endpoint: use a personal token.")
        scope = self.scope_for(request.method or "")
        if scope is not None:
            require_scope(request, scope)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """After authentication: the token's scope; then permissions and throttles; then each
        query parameter at most once (a repeated one is ambiguous input, 400)."""
        self.perform_authentication(request)
        self.check_token_scope(request)
        super().initial(request, *args, **kwargs)
        repeated = {key: ["Give this parameter once."] for key, values in request.query_params.lists() if len(values) > 1}
        if repeated:
            raise drf_serializers.ValidationError(repeated)
        self.idempotent_row: int | None = None
        key = request.headers.get(idempotency.HEADER)
        if key is not None and request.method == "POST" and request.user.is_authenticated:
            django_request = request._request
            print_ = idempotency.fingerprint(request.method, django_request.get_full_path(), django_request.body)
            row, stored = idempotency.begin(user_id=request.user.pk, key=key, print_=print_)
            if stored is not None:
                raise _Replay(stored)
            self.idempotent_row = row

    def handle_exception(self, exc: Exception) -> Any:
        """A replayed answer leaves as it was first given; everything else as DRF does."""
        if isinstance(exc, _Replay):
            replay = HttpResponse(exc.stored.body, status=exc.stored.status_code, content_type=exc.stored.content_type)
            replay[idempotency.REPLAYED_HEADER] = "true"
            return replay
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Reads carry an ETag (a hash of the body, Django's ``set_response_etag``); a read whose
        ``If-None-Match`` names it is answered 304 with no body (Django's conditional GET): an
        app that polls saves the transfer and the parsing."""
        response = super().finalize_response(request, response, *args, **kwargs)
        row = getattr(self, "idempotent_row", None)
        if row is not None:
            self.idempotent_row = None
            if isinstance(response, Response):
                response.render()
            idempotency.finish(
                row, status_code=response.status_code, content_type=response.get("Content-Type", ""), body=response.content
            )
        if request.method not in ("GET", "HEAD") or response.status_code != 200 or response.streaming:
            return response
        response.render()
        set_response_etag(response)
        conditional = get_conditional_response(request._request, etag=response.get("ETag"), response=response)
        return conditional if conditional is not None else response

    def page_of(self, queryset: Any) -> list[Any]:
        """One page of ``queryset`` (one query)."""
        return list(self.paginate_queryset(queryset) or [])


def _query(request: Request, serializer_class: type[drf_serializers.Serializer]) -> dict[str, Any]:
    """The validated query parameters (400 on bad ones). A plain dict, not the QueryDict: DRF
    reads an empty form value of an optional field as "absent", but ``?level=`` is not a level."""
    params = serializer_class(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


# --- Courses and lessons --------------------------------------------------------------------------


class CourseFilters(drf_serializers.Serializer):
    tag = drf_serializers.SlugField(required=False, max_length=100, help_text="A tag's slug.")
    level = drf_serializers.ChoiceField(choices=Level.choices, required=False)
    search = drf_serializers.CharField(required=False, max_length=QUERY_TEXT_MAX, allow_blank=True,
                                       help_text="Words matched in the course's own fields.")


class CourseListView(ApiView):
    """Courses the caller may see, in catalog order."""

    permission_classes = [AllowAny]
    cursor_ordering = "path"

    @extend_schema(operation_id="courses_list", parameters=[CourseFilters],
                   responses=serializers.CourseSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Published courses the caller may see (drafts never; view-restricted ones only for
        those the restriction lets in), with the caller's enrollment. Filters: tag, level,
        search."""
        filters = _query(request, CourseFilters)
        courses = selectors.visible_courses(who=viewer(request))
        if filters.get("tag"):
            courses = courses.filter(
                pk__in=CourseTag.objects.filter(tag__slug=filters["tag"]).values("content_object_id")
            )
        if filters.get("level"):
            courses = courses.filter(level=filters["level"])
        terms = normalize_search_query(filters.get("search", ""))
        if terms:
            ranked = CoursePage.objects.live().search(terms)[:SEARCH_MAX_COURSES]
            courses = courses.filter(pk__in=[course.pk for course in ranked])
        page = self.page_of(courses)
        user_id = _user_id(request)
        enrollments = selectors.enrollments_by_course(
            user_id=user_id, course_ids=[course.pk for course in page]
        ) if user_id else {}
        context = {"request": request, "enrollments": enrollments}
        return self.get_paginated_response(serializers.CourseSerializer(page, many=True, context=context).data)


class CourseDetailView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="courses_retrieve", responses=serializers.CourseDetailSerializer)
    def get(self, request: Request, course_id: int) -> Response:
        """One course: description, the lessons the caller may see, the caller's progress.
        404: no such published course; 403: a view restriction keeps the caller out."""
        course = CoursePage.objects.live().select_related("instructor").filter(pk=course_id).first()
        if course is None:
            raise services.CourseNotAvailable()
        who = viewer(request)
        course_access = access.course_access(who, course)
        _refuse(course_access.visibility, missing=services.CourseNotAvailable, restricted=services.CourseRestricted)
        lessons = list(selectors.visible_lessons(who=who, course_id=course.pk))
        progress = None
        completed_ids: frozenset[int] | None = None
        enrollment = None
        if who.authenticated:
            state = selectors.course_state(user=request.user, course=course, lessons=lessons)
            completed_ids = state.completed_ids
            enrollment = state.enrollment
            progress = {
                "status": state.status,
                "can_read": course_access.can_read,
                "completed_lessons": state.completed_lessons,
                "total_lessons": state.total_lessons,
                "percent": state.percent,
                "next_lesson": selectors.lesson_link(state.next_lesson, request._request),
                "resume_lesson": selectors.lesson_link(state.resume_lesson, request._request),
            }
        context = {"request": request, "completed_ids": completed_ids, "enrollments": {course.pk: enrollment}}
        data = dict(serializers.CourseSerializer(course, context=context).data)
        data["description_html"] = expand_db_html(course.description)
        data["lessons"] = serializers.CourseLessonSerializer(lessons, many=True, context=context).data
        data["progress"] = None if progress is None else serializers.CourseProgressSerializer(progress, context=context).data
        return Response(data)


class LessonFilters(drf_serializers.Serializer):
    course = drf_serializers.IntegerField(required=False, min_value=1, max_value=serializers.MAX_ID,
                                          help_text="Only this course's lessons.")


class LessonListView(ApiView):
    permission_classes = [AllowAny]
    cursor_ordering = "path"

    @extend_schema(operation_id="lessons_list", parameters=[LessonFilters],
                   responses=serializers.LessonSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Lessons the caller may see (titles and summaries; bodies are in the lesson itself), in
        course order, with ``completed`` for the caller (null when anonymous)."""
        filters = _query(request, LessonFilters)
        page = self.page_of(selectors.visible_lessons(who=viewer(request), course_id=filters.get("course")))
        user_id = _user_id(request)
        completed = selectors.completed_lesson_ids(
            user_id=user_id, lesson_ids=[lesson.pk for lesson in page]
        ) if user_id else None
        context = {"request": request, "completed_ids": completed}
        return self.get_paginated_response(serializers.LessonSerializer(page, many=True, context=context).data)


class LessonDetailView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="lessons_retrieve", responses=serializers.LessonDetailSerializer)
    def get(self, request: Request, lesson_id: int) -> Response:
        """One lesson; its body (HTML) only when the caller may read it (an active or completed
        enrollment, or staff/editor), else ``locked``. 404: no such published lesson; 403: a
        view restriction keeps the caller out, or ``lesson_not_open`` with ``opens_at`` (null
        while it waits for ``after_lesson_id``'s completion) before the lesson opens to the
        enrolled caller."""
        lesson = LessonPage.objects.live().filter(pk=lesson_id).first()
        if lesson is None:
            raise services.LessonNotAvailable()
        who = viewer(request)
        course_path = lesson.path[: -lesson.steplen]
        course_id = CoursePage.objects.filter(path=course_path).values_list("pk", flat=True).first()
        if course_id is None or not is_shown_kind(lesson.content_type_id, course_id):
            raise services.LessonNotAvailable()  # a kind switched off there (or not installed) too
        lesson_access = access.lesson_access(who, lesson, course_id=course_id)
        _refuse(lesson_access.visibility, missing=services.LessonNotAvailable, restricted=services.LessonRestricted)
        if lesson_access.not_open is not None:
            raise services.LessonNotOpen(lesson_access.not_open)
        user_id = _user_id(request)
        completed = selectors.completed_lesson_ids(user_id=user_id, lesson_ids=[lesson.pk]) if user_id else None
        lesson.course_id = course_id  # type: ignore[attr-defined]
        data = dict(serializers.LessonSerializer(
            lesson, context={"request": request, "completed_ids": completed}
        ).data)
        data["locked"] = not lesson_access.can_read
        data["body_html"] = (
            str(lesson.body.render_as_block(context={"request": request._request, "page": lesson}))
            if lesson_access.can_read else None
        )
        return Response(data)


# --- Enrollments ----------------------------------------------------------------------------------


class EnrollmentFilters(drf_serializers.Serializer):
    status = drf_serializers.ChoiceField(choices=Enrollment.Status.choices, required=False)


def _enrollment_data(request: Request, enrollments: list[Enrollment]) -> list[dict[str, Any]]:
    rows = selectors.enrollment_cards(enrollments, who=viewer(request), request=request._request)
    return list(serializers.EnrollmentSerializer(rows, many=True, context={"request": request}).data)


def _enrollment_for_caller(request: Request, enrollment_id: int, *, staff_scope: str = tokens.SCOPE_READ) -> Enrollment:
    """The enrollment if it is the caller's, or the caller may see its course's learners as
    staff (``access.may_see_enrollment``: the admin's question for the same learner); else 404,
    the same answer as for an id that does not exist. Someone else's needs ``staff_scope`` of a
    service or app token. Deciding (approve, cancel) is then the service's call, which asks
    ``access.may_manage_learners``."""
    enrollment = (
        Enrollment.objects.filter(pk=enrollment_id).select_related("course").first()
    )
    if enrollment is not None and enrollment.user_id == request.user.pk:
        return enrollment
    if enrollment is None or not access.may_see_enrollment(viewer(request), enrollment):
        raise services.NotFound("This enrollment does not exist.")
    require_scope(request, staff_scope)
    return enrollment


def _enrollment_response(request: Request, enrollment_id: int, *, status: int = 200) -> Response:
    enrollment = (
        Enrollment.objects.filter(pk=enrollment_id)
        .select_related("course", "next_lesson", "resume_lesson").get()
    )
    return Response(_enrollment_data(request, [enrollment])[0], status=status)


class EnrollmentListView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "enrollments"

    @extend_schema(operation_id="enrollments_list", parameters=[EnrollmentFilters],
                   responses=serializers.EnrollmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's enrollments, newest first, with progress and (while they give access)
        the next and resume lessons."""
        filters = _query(request, EnrollmentFilters)
        rows = selectors.enrollments_with_links(user_id=request.user.pk)
        if filters.get("status"):
            rows = rows.filter(status=filters["status"])
        return self.get_paginated_response(_enrollment_data(request, self.page_of(rows)))

    @extend_schema(
        operation_id="enrollments_create",
        request=serializers.EnrollmentCreateSerializer,
        responses={201: serializers.EnrollmentSerializer, 200: serializers.EnrollmentSerializer},
    )
    def post(self, request: Request) -> Response:
        """Enroll in a course: open courses at once (active), approval courses on request
        (pending_approval). 201 when created or reopened, 200 when already enrolled."""
        body = serializers.EnrollmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.enrollment_request(
            user=request.user, course=body.validated_data["course_id"], session=viewer(request).session
        )
        return _enrollment_response(request, result.enrollment.pk, status=201 if result.changed else 200)


class EnrollmentDetailView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="enrollments_retrieve", responses=serializers.EnrollmentSerializer)
    def get(self, request: Request, enrollment_id: int) -> Response:
        """One enrollment: the caller's own, or (staff) one of a course whose learners the
        caller may see; 404 otherwise."""
        enrollment = _enrollment_for_caller(request, enrollment_id)
        return _enrollment_response(request, enrollment.pk)


class EnrollmentApproveView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "enrollments"
    scopes = {"POST": tokens.SCOPE_ENROLL}  # always someone else's: staff

    @extend_schema(operation_id="enrollments_approve", request=None, responses=serializers.EnrollmentSerializer)
    def post(self, request: Request, enrollment_id: int) -> Response:
        """Staff: approve a pending enrollment of a course whose learners the caller may manage
        (never their own). 404 outside the caller's courses, 409 for a cancelled one. Scope:
        enroll."""
        enrollment = _enrollment_for_caller(request, enrollment_id, staff_scope=tokens.SCOPE_ENROLL)
        services.enrollment_approve(enrollment=enrollment.pk, by=request.user)
        return _enrollment_response(request, enrollment.pk)


class EnrollmentCancelView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "enrollments"

    @extend_schema(operation_id="enrollments_cancel", request=None, responses=serializers.EnrollmentSerializer)
    def post(self, request: Request, enrollment_id: int) -> Response:
        """Cancel an enrollment: the learner their own, staff one of a course whose learners
        they may manage (404 outside their courses; scope: enroll)."""
        enrollment = _enrollment_for_caller(request, enrollment_id, staff_scope=tokens.SCOPE_ENROLL)
        services.enrollment_cancel(enrollment=enrollment.pk, by=request.user)
        return _enrollment_response(request, enrollment.pk)


# --- Progress -------------------------------------------------------------------------------------


class ProgressFilters(drf_serializers.Serializer):
    course = drf_serializers.IntegerField(required=False, min_value=1, max_value=serializers.MAX_ID)


class ProgressView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "progress"

    @extend_schema(operation_id="progress_list", parameters=[ProgressFilters],
                   responses=serializers.LessonProgressSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's lesson progress rows, newest first."""
        filters = _query(request, ProgressFilters)
        rows = selectors.learner_progress(user_id=request.user.pk, course_id=filters.get("course"))
        return self.get_paginated_response(serializers.LessonProgressSerializer(self.page_of(rows), many=True).data)

    @extend_schema(operation_id="progress_create", request=serializers.ProgressCreateSerializer,
                   responses={200: serializers.ProgressResultSerializer})
    def post(self, request: Request) -> Response:
        """Complete a lesson (or, with ``completed: false``, record the reading position) in a
        course the caller is actively enrolled in. Repeating it changes nothing. 403
        ``lesson_not_open`` (with ``opens_at``) before the lesson opens to the caller."""
        body = serializers.ProgressCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.lesson_progress_record(
            user=request.user, lesson=data["lesson_id"], completed=data["completed"],
            position=data.get("position"), session=viewer(request).session,
        )
        return Response(serializers.ProgressResultSerializer({
            "course_id": result.progress.course_id,
            "lesson_id": result.progress.lesson_id,
            "completed_lessons": result.completed_lessons,
            "total_lessons": result.total_lessons,
            "percent": result.percent,
            "next_lesson": selectors.lesson_link(result.next_lesson, request._request),
            "course_completed": result.course_completed,
            "newly_completed": result.newly_completed,
        }, context={"request": request}).data)


# --- Notifications --------------------------------------------------------------------------------


class NotificationFilters(drf_serializers.Serializer):
    unread = drf_serializers.BooleanField(required=False, default=False, help_text="Only unread ones.")


class NotificationListView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="notifications_list", parameters=[NotificationFilters],
                   responses=serializers.NotificationSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's notifications, newest first (ids increase: resume after the last seen)."""
        filters = _query(request, NotificationFilters)
        rows = selectors.learner_notifications(user_id=request.user.pk, unread_only=filters["unread"])
        return self.get_paginated_response(serializers.NotificationSerializer(self.page_of(rows), many=True, context={"request": request}).data)


def _marked(request: Request, ids: list[int] | None) -> Response:
    marked = services.notification_mark_read(user=request.user, notification_ids=ids)
    return Response({"marked": marked, "unread_count": selectors.unread_notification_count(user_id=request.user.pk)})


class NotificationReadView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "notifications"

    @extend_schema(operation_id="notifications_mark_read", request=serializers.MarkReadSerializer,
                   responses={200: serializers.MarkReadResultSerializer})
    def post(self, request: Request) -> Response:
        """Mark some of the caller's notifications read. An id that is not the caller's is a 404
        and nothing is marked."""
        body = serializers.MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _marked(request, body.validated_data["ids"])


class NotificationReadAllView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "notifications"

    @extend_schema(operation_id="notifications_mark_all_read", request=None,
                   responses={200: serializers.MarkReadResultSerializer})
    def post(self, request: Request) -> Response:
        """Mark every unread notification of the caller read."""
        return _marked(request, None)


# --- Live connections ---------------------------------------------------------------------------


class SocketTicketView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="socket_tickets_create", request=None, responses={201: serializers.SocketTicketSerializer})
    def post(self, request: Request) -> Response:
        """A ticket for one WebSocket connection: connect to ``/ws/...?ticket=<ticket>`` within
        its lifetime. It works once, and the socket lives as long as the token (or the login
        session) that asked for it: revoking the token closes it."""
        token = request.auth  # a personal token, an app's OAuth token, or None (the session)
        session = getattr(request._request, "session", None)
        try:
            ticket = tokens.socket_ticket_create(
                user=request.user, token=token, session_key=None if token else getattr(session, "session_key", None)
            )
        except tokens.TokenError as exc:
            raise services.Forbidden(exc.message) from exc
        return Response(
            serializers.SocketTicketSerializer({"ticket": ticket, "expires_in": tokens.SOCKET_TICKET_SECONDS}).data,
            status=201,
        )


# --- Me -------------------------------------------------------------------------------------------


class MeView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_retrieve", responses=serializers.MeSerializer)
    def get(self, request: Request) -> Response:
        """The caller's profile and how this request was authenticated."""
        user = request.user
        token = request.auth
        return Response(serializers.MeSerializer({
            "id": user.pk,
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "is_staff": user.is_staff,
            "date_joined": user.date_joined,
            "unread_notifications": selectors.unread_notification_count(user_id=user.pk),
            "authenticated_by": ("session" if token is None
                                 else "oauth" if isinstance(token, tokens.AccessToken) else "token"),
            "token_expires_at": tokens.token_expires_at(token) if token is not None else None,
            "token_scopes": sorted(scopes) if (scopes := tokens.token_scopes(token)) is not None else None,
        }).data)
