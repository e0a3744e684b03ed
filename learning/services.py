"""The only code that writes enrollments, lesson progress and notifications.

Every service takes keyword-only arguments, runs in one transaction, returns a small typed
result and sends its domain events (``learning.events``) only after that transaction commits.
Rule violations raise a ``ServiceError`` subclass carrying a user-facing ``message`` and an
HTTP-ish ``status_code`` (400, 403, 404, 409) that views, the API and consumers turn into a 4xx.
Nothing is written when a service raises.

Concurrency: one row per learner and course (enrollments) or learner and lesson (progress) is
guaranteed by database constraints. A duplicate insert that loses a race is caught
(``IntegrityError`` inside a savepoint) and the existing row is returned. Writes that read then
update an enrollment lock its row (``select_for_update``) so that concurrent progress records
send ``lesson_completed`` and ``course_completed`` exactly once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from wagtail.log_actions import log

from academy import ratelimit
from courses.lesson_kinds import shown_kind_type_ids
from courses.models import CoursePage, LessonPage
from courses.routing import tree_cached
from learning import access, events
from learning.events import (
    CourseCompletedPayload,
    EnrollmentPayload,
    LearnerActivityPayload,
    LessonCompletedPayload,
    NotificationCreatedPayload,
    NotificationReadPayload,
)
from learning.models import Enrollment, LessonProgress, Notification
from learning.progress import (
    CACHED_PROGRESS_FIELDS,
    CourseProgress,
    ProgressData,
    apply_progress,
    compute_progress,
    course_lesson_ids,
    learner_course_progress,
    progress_data,
)
from learning.selectors import lesson_link, unread_count_cache_key

logger = logging.getLogger(__name__)

# Permission a staff member or editor needs to approve or cancel someone's enrollment.
MANAGE_ENROLLMENTS_PERMISSION = "learning.change_enrollment"
# The largest reading position a lesson can record (percent of the lesson).
MAX_POSITION = 100
# The longest list of ids one mark-read call accepts.
MAX_NOTIFICATION_IDS = 500
_TITLE_MAX = Notification._meta.get_field("title").max_length
_LINK_MAX = Notification._meta.get_field("link").max_length


# --- Errors ------------------------------------------------------------------------------------


class ServiceError(Exception):
    """A rule was broken: nothing was written. ``status_code`` is the HTTP status to answer."""

    status_code = 400
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidInput(ServiceError):
    """Malformed or out-of-range input (400)."""

    status_code = 400
    default_message = "The request is not valid."


class Forbidden(ServiceError):
    """The user may not do this (403)."""

    status_code = 403
    default_message = "You are not allowed to do this."


class NotFound(ServiceError):
    """The object does not exist, is not published, or is not the user's (404)."""

    status_code = 404
    default_message = "Not found."


class Conflict(ServiceError):
    """The object is in a state that does not allow this (409)."""

    status_code = 409
    default_message = "This cannot be done in the current state."


class RateLimited(ServiceError):
    """A limit of the shared limiter refused this (429); ``retry_after`` is the wait in seconds,
    which every door passes on (the API and the pages as ``Retry-After``)."""

    status_code = 429
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, rounded up, at least 1."""
        return ratelimit.retry_after_header(self.retry_after)


class CourseNotAvailable(NotFound):
    """The course does not exist or is not published."""

    default_message = "This course does not exist or is not published."


class LessonNotAvailable(NotFound):
    """The lesson (or its course) does not exist or is not published."""

    default_message = "This lesson does not exist or is not published."


class CourseRestricted(Forbidden):
    """A Wagtail view restriction (login, groups, password) keeps the user out of the course."""

    default_message = "This course is private."


class LessonRestricted(Forbidden):
    """A Wagtail view restriction keeps the user out of the lesson (or its course)."""

    default_message = "This lesson is private."


class OwnEnrollment(Forbidden):
    """Staff decide other people's enrollments, never their own."""

    default_message = "You cannot approve or cancel your own enrollment; ask another staff member."


class NotEnrolled(Forbidden):
    """Progress needs an active enrollment in the lesson's course."""

    default_message = "Enroll in this course to record your progress."


class CompletionNotAllowed(Conflict):
    """The lesson's kind does not allow completing it yet (e.g. a quiz not passed)."""

    default_message = "This lesson is completed another way."


class LessonNotOpen(Forbidden):
    """The lesson is not yet open to the learner (drip release): ``details`` says when
    (``opens_at``, ISO 8601, or null while it waits for ``after_lesson_id``'s completion)."""

    default_message = "This lesson is not open yet."

    def __init__(self, not_open: access.NotOpen | None = None) -> None:
        super().__init__(not_open.message if not_open is not None else None)
        self.not_open = not_open
        self.details: dict[str, Any] = {
            "opens_at": _iso(not_open.opens_at) if not_open is not None and not_open.opens_at else None,
            "after_lesson_id": not_open.after_lesson_id if not_open is not None else None,
        }


class NotificationNotFound(NotFound):
    """A notification id that does not exist or belongs to someone else."""

    default_message = "Notification not found."


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentResult:
    """The enrollment after the call; ``created``: a new row; ``changed``: its status moved."""

    enrollment: Enrollment
    created: bool
    changed: bool = False


@dataclass(frozen=True)
class ProgressResult:
    """A learner's lesson progress and the course progress after recording it.

    ``course_progress`` is the course progress (``learning.progress``) and ``data`` its wire
    shape, as the events and live frames carry it. ``course_completed`` says the enrollment is
    completed (every counted lesson done, now or before); ``course_newly_completed`` says this
    very call completed it.
    """

    progress: LessonProgress
    newly_completed: bool
    course_completed: bool
    course_progress: CourseProgress
    data: ProgressData
    next_lesson: LessonPage | None
    course_newly_completed: bool = False

    @property
    def completed_lessons(self) -> int:
        """Delegates to ``course_progress`` (for callers that read the counts)."""
        return self.course_progress.completed_lessons

    @property
    def total_lessons(self) -> int:
        """Delegates to ``course_progress``."""
        return self.course_progress.total_lessons

    @property
    def percent(self) -> int:
        """Delegates to ``course_progress``."""
        return self.course_progress.percent


# --- Helpers -----------------------------------------------------------------------------------


def _require_user(user: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Forbidden("Log in to continue.")


def _enrollment_payload(enrollment: Enrollment) -> EnrollmentPayload:
    return EnrollmentPayload(
        enrollment_id=enrollment.pk,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        status=enrollment.status,
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _live_course(course: Any) -> CoursePage:
    """The published course page behind ``course`` (a CoursePage or its id), or 404."""
    course_id = getattr(course, "pk", course)
    if not isinstance(course_id, int) or isinstance(course_id, bool):
        raise CourseNotAvailable()
    found = CoursePage.objects.live().filter(pk=course_id).first()
    if found is None:
        raise CourseNotAvailable()
    return found


def _progress_of(enrollment: Enrollment) -> CourseProgress:
    """Live-computed progress for an enrollment (two queries)."""
    return learner_course_progress(
        user_id=enrollment.user_id, course_id=enrollment.course_id,
        lesson_ids=course_lesson_ids(course=enrollment.course),
    )


def _grant_access(enrollment: Enrollment, *, now: datetime) -> None:
    """Move an enrollment to active, refreshing its cached progress (kept from a past enrollment).

    It stays active even if every lesson was already done: completion (and its event) is
    decided by ``lesson_progress_record`` only.
    """
    progress = _progress_of(enrollment)
    apply_progress(enrollment, progress)
    enrollment.status = Enrollment.Status.ACTIVE
    enrollment.activated_at = now
    enrollment.cancelled_at = None


# --- Enrollments -------------------------------------------------------------------------------


def _refuse(visibility: access.Visibility, *, missing: type[ServiceError], restricted: type[ServiceError]) -> None:
    """Raise the error that the access policy's refusal maps to (nothing when visible)."""
    if visibility is access.Visibility.NOT_PUBLISHED:
        raise missing()
    if not visibility.visible:
        raise restricted()


def _save_or_lose_race(enrollment: Enrollment, *, created: bool) -> Enrollment | None:
    """Save ``enrollment`` (inserting a new one); when a concurrent request inserted the same
    learner and course first, return that winner instead (the unique constraint decides)."""
    if not created:
        enrollment.save()
        return None
    try:
        with transaction.atomic():
            enrollment.save(force_insert=True)
    except IntegrityError:
        winner = Enrollment.objects.filter(user_id=enrollment.user_id, course_id=enrollment.course_id).first()
        if winner is None:
            raise
        return winner
    return None


def enrollment_request(
    *, user: Any, course: CoursePage | int, session: Mapping[str, Any] | None = None
) -> EnrollmentResult:
    """Enroll ``user`` in a published course: open courses -> active, approval courses -> pending.

    Idempotent and race-safe: a learner has at most one enrollment per course (database
    constraint); a repeated or concurrent call returns the existing row with ``created=False``.
    A cancelled enrollment is reopened (``changed=True``). Events after commit:
    ``enrollment_requested`` for every new or reopened request, then ``enrollment_activated``
    when the course is open. The access policy decides who may join (``learning.access``:
    containers published, Wagtail view restrictions, with ``session`` for password ones).
    Raises ``CourseNotAvailable`` (404) for a missing or unpublished course,
    ``CourseRestricted`` (403) for a course a view restriction closes to the user and
    ``Forbidden`` (403) for an anonymous or inactive user.
    """
    _require_user(user)
    with transaction.atomic():
        live = _live_course(course)
        visibility = access.page_visibility(access.viewer(user, session), live)
        _refuse(visibility, missing=CourseNotAvailable, restricted=CourseRestricted)
        now = timezone.now()
        existing = Enrollment.objects.select_for_update().filter(user_id=user.pk, course_id=live.pk).first()
        if existing is not None and existing.status != Enrollment.Status.CANCELLED:
            return EnrollmentResult(enrollment=existing, created=False)
        created = existing is None
        enrollment = existing or Enrollment(user_id=user.pk, course_id=live.pk)
        enrollment.course = live
        enrollment.decided_by = None
        if enrollment.cohort_id is None:
            from learning.cohorts import default_cohort

            enrollment.cohort = default_cohort(live)
        if live.requires_approval:
            enrollment.status = Enrollment.Status.PENDING_APPROVAL
            enrollment.cancelled_at = None
            apply_progress(enrollment, _progress_of(enrollment))
        else:
            _grant_access(enrollment, now=now)
        winner = _save_or_lose_race(enrollment, created=created)
        if winner is not None:
            return EnrollmentResult(enrollment=winner, created=False)
        payload = _enrollment_payload(enrollment)
        events.enrollment_requested.emit(payload)
        if enrollment.status == Enrollment.Status.ACTIVE:
            events.enrollment_activated.emit(payload)
    return EnrollmentResult(enrollment=enrollment, created=created, changed=True)


# Audit-log actions of staff on enrollments (registered in learning/wagtail_hooks.py).
AUDIT_ACTIONS = {
    "learning.enrollment.approve": ("Approve enrollment", "Approved the enrollment"),
    "learning.enrollment.cancel": ("Cancel enrollment", "Cancelled the enrollment"),
    "learning.enrollment.add": ("Enroll by staff", "Enrolled the learner"),
}


def _audit(enrollment: Enrollment, action: str, *, by: Any, previous: str) -> None:
    """Record a staff decision in Wagtail's audit log (who, what, when, which enrollment)."""
    log(
        instance=enrollment,
        action=action,
        user=by,
        title=f"{enrollment.user.get_username()} in {enrollment.course.title}"[:255],
        data={
            "enrollment_id": enrollment.pk,
            "learner_id": enrollment.user_id,
            "course_id": enrollment.course_id,
            "from_status": previous,
            "to_status": enrollment.status,
        },
    )


def _may_manage_somewhere(by: Any) -> bool:
    """The permission to manage enrollments, or a teacher role in some course (each course is
    then checked on its own)."""
    return bool(by.has_perm(MANAGE_ENROLLMENTS_PERMISSION)) or any(
        grant.teacher for grant in access.course_roles(access.viewer(by))
    )


def _require_manager(by: Any) -> None:
    _require_user(by)
    if not _may_manage_somewhere(by):
        raise Forbidden("You do not have permission to manage enrollments.")


def _require_course_manager(course: CoursePage, *, by: Any) -> None:
    """A staff decision in ``course`` needs the access policy's staff rule for it
    (``access.may_manage_learners``: the admin's own question), whoever calls."""
    if not access.may_manage_learners(access.viewer(by), course):
        raise Forbidden("You may not manage the learners of this course.")


def _require_enrollment_manager(enrollment: Enrollment, *, by: Any) -> None:
    """A staff decision on one learner needs the access policy's rule for that learner
    (``access.may_manage_enrollment``: their course, and their cohort for a teacher of one)."""
    who = access.viewer(by)
    if not access.may_manage_learners(who, enrollment.course):
        raise Forbidden("You may not manage the learners of this course.")
    if not access.may_manage_enrollment(who, enrollment):
        raise Forbidden("You may not manage this learner (a learner of another cohort).")


def _locked(enrollment: Enrollment | int) -> Enrollment:
    enrollment_id = getattr(enrollment, "pk", enrollment)
    locked = (
        Enrollment.objects.select_for_update(of=("self",)).select_related("course").filter(pk=enrollment_id).first()
        if isinstance(enrollment_id, int)
        else None
    )
    if locked is None:
        raise NotFound("This enrollment does not exist.")
    return locked


def enrollment_approve(*, enrollment: Enrollment | int, by: Any) -> EnrollmentResult:
    """Approve a pending enrollment (staff or editors with ``learning.change_enrollment``).

    Pending -> active, recording who decided; sends ``enrollment_activated`` after commit.
    Approving an active or completed enrollment changes nothing (idempotent, no event).
    Raises ``Forbidden`` (403) without the permission or when the course is not one whose
    learners ``by`` may manage (``access.may_manage_learners``), ``OwnEnrollment`` (403) for the
    approver's own enrollment, ``NotFound`` (404) for an unknown enrollment and ``Conflict``
    (409) for a cancelled one. The decision is recorded in Wagtail's audit log
    (``learning.enrollment.approve``) in the same transaction.
    """
    _require_manager(by)
    with transaction.atomic():
        locked = _locked(enrollment)
        _require_enrollment_manager(locked, by=by)
        if locked.user_id == by.pk:
            raise OwnEnrollment()
        if locked.has_access:
            return EnrollmentResult(enrollment=locked, created=False)
        if locked.status == Enrollment.Status.CANCELLED:
            raise Conflict("This enrollment was cancelled; the learner must request it again.")
        previous = locked.status
        _grant_access(locked, now=timezone.now())
        locked.decided_by = by
        locked.save()
        _audit(locked, "learning.enrollment.approve", by=by, previous=previous)
        events.enrollment_activated.emit(_enrollment_payload(locked))
    return EnrollmentResult(enrollment=locked, created=False, changed=True)


def enrollment_cancel(*, enrollment: Enrollment | int, by: Any, as_staff: bool = False) -> EnrollmentResult:
    """Cancel an enrollment: the learner themself, or a staff member with the permission.

    Any status -> cancelled (progress rows are kept, so re-enrolling resumes them); sends
    ``enrollment_cancelled`` after commit. Cancelling a cancelled enrollment changes nothing.
    Cancelling someone else's enrollment, or any with ``as_staff=True`` (the admin's action),
    is a staff decision: it needs the permission and the staff rule for the course
    (``access.may_manage_learners``), never applies to the staff member's own enrollment, and
    is recorded in Wagtail's audit log (``learning.enrollment.cancel``).
    Raises ``Forbidden`` (403) without either, ``OwnEnrollment`` (403) for a staff
    decision on one's own enrollment, and ``NotFound`` (404) for an unknown enrollment.
    """
    _require_user(by)
    with transaction.atomic():
        locked = _locked(enrollment)
        staff_decision = as_staff or locked.user_id != by.pk
        if staff_decision and not _may_manage_somewhere(by):
            raise Forbidden("You do not have permission to cancel this enrollment.")
        if staff_decision:
            _require_enrollment_manager(locked, by=by)
        if staff_decision and locked.user_id == by.pk:
            raise OwnEnrollment()
        if locked.status == Enrollment.Status.CANCELLED:
            return EnrollmentResult(enrollment=locked, created=False)
        previous = locked.status
        locked.status = Enrollment.Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.decided_by = by
        locked.save()
        if staff_decision:
            _audit(locked, "learning.enrollment.cancel", by=by, previous=previous)
        events.enrollment_cancelled.emit(_enrollment_payload(locked))
    return EnrollmentResult(enrollment=locked, created=False, changed=True)


def enrollment_add(*, user: Any, course: CoursePage | int, by: Any, cohort: Any = None) -> EnrollmentResult:
    """Enroll ``user`` in a published course as a staff decision (manual or bulk enrollment).

    The learner gets access at once, also in an approval course (staff decided): a new row,
    a pending or cancelled one becomes active (``changed=True``); an active or completed one is
    left alone (``changed=False``: "already enrolled"). Needs ``learning.change_enrollment``;
    never for the staff member themself. Race-safe like ``enrollment_request``. Audited
    (``learning.enrollment.add``); ``enrollment_activated`` after commit. Raises ``Forbidden``
    (403: without the permission, or in a course whose learners ``by`` may not manage, as in
    ``enrollment_approve``), ``OwnEnrollment`` (403), ``CourseNotAvailable`` (404) and
    ``InvalidInput`` (400: an inactive or missing learner).
    The learner is placed in ``cohort`` (a ``Cohort`` or its id) or, without one, as
    ``learning.cohorts.placement_cohort`` decides (the default cohort; a teacher of one cohort
    places in theirs); a learner already enrolled stays in their cohort.
    """
    _require_manager(by)
    if user is None or getattr(user, "pk", None) is None or not user.is_active:
        raise InvalidInput("That learner does not exist or is deactivated.")
    if user.pk == by.pk:
        raise OwnEnrollment("You cannot enroll yourself from the staff tools.")
    with transaction.atomic():
        live = _live_course(course)
        _require_course_manager(live, by=by)
        existing = Enrollment.objects.select_for_update().filter(user_id=user.pk, course_id=live.pk).first()
        if existing is not None and existing.has_access:
            return EnrollmentResult(enrollment=existing, created=False)
        created = existing is None
        enrollment = existing or Enrollment(user_id=user.pk, course_id=live.pk)
        enrollment.course = live
        if existing is not None:
            _require_enrollment_manager(enrollment, by=by)
        if cohort is not None or enrollment.cohort_id is None:
            from learning.cohorts import placement_cohort

            enrollment.cohort = placement_cohort(course=live, by=by, cohort=cohort)
        previous = enrollment.status if existing else ""
        _grant_access(enrollment, now=timezone.now())
        enrollment.decided_by = by
        winner = _save_or_lose_race(enrollment, created=created)
        if winner is not None:
            return EnrollmentResult(enrollment=winner, created=False)
        enrollment.user = user
        _audit(enrollment, "learning.enrollment.add", by=by, previous=previous)
        events.enrollment_activated.emit(_enrollment_payload(enrollment))
    return EnrollmentResult(enrollment=enrollment, created=created, changed=True)


# --- Lesson progress ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _LessonInCourse:
    lesson: LessonPage
    course_id: int
    lessons: list[LessonPage]  # the course's published lessons in order (link fields only)


# Columns a lesson link needs (the view's redirect and JSON) and its kind; never the body.
_LESSON_LINK_FIELDS = ("id", "title", "url_path", "path", "depth", "content_type_id")


def _live_lesson(lesson: Any) -> _LessonInCourse:
    """The published lesson, its published course's id and the course's published lessons.

    From the page tree's cache (``courses.routing.tree_cached``); when it is cold, two queries:
    the lesson, then its published siblings with the course id (None when the course is not
    published) as a subquery. Which lesson kinds count is applied after, from the activation table.
    """
    lesson_id = getattr(lesson, "pk", lesson)
    if not isinstance(lesson_id, int) or isinstance(lesson_id, bool):
        raise LessonNotAvailable()
    found, course_id, lessons = tree_cached("live-lesson", str(lesson_id), lambda: _load_live_lesson(lesson_id), tuple)
    if found is None or course_id is None:
        raise LessonNotAvailable()
    # Lesson kinds of plugins switched off for this course, excluded or refused: not lessons here.
    shown = shown_kind_type_ids(course_id)
    if found.content_type_id not in shown:
        raise LessonNotAvailable()
    lessons = [item for item in lessons if item.content_type_id in shown]
    return _LessonInCourse(lesson=found, course_id=course_id, lessons=lessons)


def _load_live_lesson(lesson_id: int) -> tuple[LessonPage | None, int | None, list[LessonPage]]:
    found = LessonPage.objects.live().filter(pk=lesson_id).only(*_LESSON_LINK_FIELDS).first()
    if found is None:
        return None, None, []
    course_path = found.course_path
    live_course = CoursePage.objects.live().filter(path=course_path).values("pk")[:1]
    lessons = list(
        LessonPage.objects.live()
        .filter(depth=found.depth, path__startswith=course_path)
        .annotate(live_course_id=Subquery(live_course))
        .only(*_LESSON_LINK_FIELDS)
        .order_by("path")
    )
    return found, (lessons[0].live_course_id if lessons else None), lessons  # type: ignore[attr-defined]


def lesson_require_open(
    *, user: Any, lesson: LessonPage | int, session: Mapping[str, Any] | None = None, now: datetime | None = None,
) -> None:
    """Raise ``LessonNotOpen`` (403, with when it opens) when the published ``lesson`` is not yet
    open to ``user`` at ``now`` (drip release, ``learning.access.lesson_not_open``); staff and
    editors are never held back. A lesson kind's own writes (a quiz's start and submit) ask this
    before they write, as :func:`lesson_progress_record` does. Raises ``LessonNotAvailable`` for a
    lesson that is not published. No query when the lesson has no release rule (the tree cached)."""
    found = _live_lesson(lesson)
    closed = access.lesson_not_open(
        access.viewer(user, session), lesson_id=found.lesson.pk, course_id=found.course_id,
        course_path=found.lesson.course_path, now=now,
    )
    if closed is not None:
        raise LessonNotOpen(closed)


def _check_completion_gate(lesson: LessonPage, user: Any) -> None:
    """Ask the lesson's kind whether ``user`` may complete it (core lessons: always; no query)."""
    kind = lesson.specific_class
    if kind is None or kind.completion_gate is LessonPage.completion_gate:
        return
    reason = lesson.specific.completion_gate(user)
    if reason:
        raise CompletionNotAllowed(reason)


def _validated_position(position: Any, *, completed: bool) -> int | None:
    if position is None:
        return MAX_POSITION if completed else None
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= MAX_POSITION:
        raise InvalidInput(f"The position must be a whole number from 0 to {MAX_POSITION}.")
    return position


def lesson_progress_record(
    *, user: Any, lesson: LessonPage | int, completed: bool = True, position: int | None = None,
    session: Mapping[str, Any] | None = None, now: datetime | None = None,
) -> ProgressResult:
    """Record a learner's progress on a published lesson of a course they are actively in.

    ``completed=True`` marks the lesson complete (once: repeating it changes nothing);
    ``position`` (0-100, percent read) records where the learner stopped. A completed lesson
    never goes back to incomplete. When every *published* lesson of the course is complete the
    enrollment becomes completed. After commit: ``lesson_completed`` when the lesson became
    complete in this call, ``course_completed`` when the course did, and ``learner_activity``
    every time (the staff's live class view). Race-safe: the enrollment
    row is locked, so concurrent calls send each event once and leave one progress row.

    The access policy (``learning.access``, with ``session`` for password restrictions) must
    let the learner see the lesson. Raises ``LessonNotAvailable`` (404), ``LessonRestricted``
    (403: a view restriction), ``NotEnrolled`` (403: no enrollment, pending or cancelled),
    ``InvalidInput`` (400: bad position), ``LessonNotOpen`` (403: not yet open to the learner at
    ``now``, default the current time: drip release).
    """
    _require_user(user)
    if not isinstance(completed, bool):
        raise InvalidInput("completed must be true or false.")
    recorded_position = _validated_position(position, completed=completed)
    with transaction.atomic():
        found = _live_lesson(lesson)
        live_lesson, course_id = found.lesson, found.course_id
        visibility = access.page_visibility(access.viewer(user, session), live_lesson)
        _refuse(visibility, missing=LessonNotAvailable, restricted=LessonRestricted)
        enrollment = Enrollment.objects.select_for_update().filter(user_id=user.pk, course_id=course_id).first()
        if enrollment is None or not access.has_access_status(enrollment.status):
            if enrollment is not None and enrollment.status == Enrollment.Status.PENDING_APPROVAL:
                raise NotEnrolled("Your enrollment is waiting for approval.")
            raise NotEnrolled()
        now = now or timezone.now()
        closed = access.lesson_not_open(
            access.viewer(user, session), lesson_id=live_lesson.pk, course_id=course_id,
            course_path=live_lesson.course_path, now=now,
        )
        if closed is not None:
            raise LessonNotOpen(closed)
        if completed:
            _check_completion_gate(live_lesson, user)
        # The learner's rows in this course, and this lesson's row wherever it was recorded (a
        # lesson moved from another course keeps its row). The enrollment row is locked, so no
        # other call of this service can insert this lesson's row meanwhile: one write, no retry.
        rows = list(
            LessonProgress.objects.filter(user_id=user.pk)
            .filter(Q(course_id=course_id) | Q(lesson_id=live_lesson.pk))
            .order_by("-updated_at", "-pk")
        )
        progress = next((row for row in rows if row.lesson_id == live_lesson.pk), None)
        created = progress is None
        if progress is None:
            progress = LessonProgress(user_id=user.pk, lesson_id=live_lesson.pk, course_id=course_id)
        newly_completed = completed and progress.completed_at is None
        if newly_completed:
            progress.completed_at = now
        if recorded_position is not None:
            progress.last_position = max(progress.last_position, recorded_position) if completed else recorded_position
        progress.course_id = course_id
        if created:
            progress.save(force_insert=True)
        else:
            progress.save(update_fields=["completed_at", "last_position", "course_id", "updated_at"])

        lesson_ids = [item.pk for item in found.lessons]
        completed_ids = [
            row.lesson_id for row in rows if row.course_id == course_id and row.completed_at is not None
        ]
        if progress.completed_at is not None:
            completed_ids.append(progress.lesson_id)
        # This lesson was just touched: it is where the learner is.
        course_progress = compute_progress(
            lesson_ids=lesson_ids, completed_ids=completed_ids, last_touched_id=live_lesson.pk
        )
        apply_progress(enrollment, course_progress)
        enrollment.last_activity_at = now
        course_newly_completed = course_progress.is_complete and enrollment.status == Enrollment.Status.ACTIVE
        if course_newly_completed:
            enrollment.status = Enrollment.Status.COMPLETED
            enrollment.completed_at = now
        enrollment.save(update_fields=[*CACHED_PROGRESS_FIELDS, "last_activity_at", "status", "completed_at", "updated_at"])
        by_id = {item.pk: item for item in found.lessons}
        # Links of the course's live lessons (the learner may read the course: checked above).
        data = progress_data(
            course_progress, course_id=course_id, status=enrollment.status,
            link=lambda pk: lesson_link(by_id.get(pk)),
        )
        if newly_completed:
            events.lesson_completed.emit(
                LessonCompletedPayload(user_id=user.pk, lesson_id=live_lesson.pk, enrollment_id=enrollment.pk, **data),
            )
        if course_newly_completed:
            events.course_completed.emit(
                CourseCompletedPayload(
                    user_id=user.pk, course_id=course_id, enrollment_id=enrollment.pk, completed_at=_iso(now)
                ),
            )
        events.learner_activity.emit(
            LearnerActivityPayload(
                user_id=user.pk, lesson_id=live_lesson.pk, completed=newly_completed, at=_iso(now), **data,
            ),
        )
    return ProgressResult(
        progress=progress,
        newly_completed=newly_completed,
        course_completed=enrollment.status == Enrollment.Status.COMPLETED,
        course_progress=course_progress,
        data=data,
        next_lesson=by_id.get(course_progress.next_lesson_id) if course_progress.next_lesson_id else None,
        course_newly_completed=course_newly_completed,
    )


def refresh_progress_cache(*, course_id: int) -> int:
    """Recompute the cached progress of every enrollment in a course; return how many changed.

    Called (through a task) whenever the set of lessons that count changes (``learning.receivers
    .pages``: publish, unpublish, delete, move, a lesson kind switched for the course): lesson
    totals, percents and next lessons change for everyone, and the dashboard (which reads this
    copy) must say what the course page (which computes it) says. Three queries plus one bulk
    update. It
    only refreshes the cached read model; it never changes an enrollment's status nor sends
    events (a learner's completion is decided by ``lesson_progress_record``).
    """
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        return 0
    lesson_ids = course_lesson_ids(course=course)
    per_user: dict[int, list[int]] = defaultdict(list)
    last_touched: dict[int, int] = {}
    rows = LessonProgress.objects.filter(course_id=course_id).order_by("user_id", "-updated_at", "-pk")
    for user_id, lesson_id, completed_at in rows.values_list("user_id", "lesson_id", "completed_at"):
        last_touched.setdefault(user_id, lesson_id)
        if completed_at is not None:
            per_user[user_id].append(lesson_id)
    changed: list[Enrollment] = []
    for enrollment in Enrollment.objects.filter(course_id=course_id):
        progress = compute_progress(
            lesson_ids=lesson_ids,
            completed_ids=per_user.get(enrollment.user_id, ()),
            last_touched_id=last_touched.get(enrollment.user_id),
        )
        if apply_progress(enrollment, progress):
            changed.append(enrollment)
    Enrollment.objects.bulk_update(changed, CACHED_PROGRESS_FIELDS, batch_size=500)
    return len(changed)


# --- Notifications -----------------------------------------------------------------------------


def _valid_link(link: str) -> bool:
    return link == "" or (link.startswith("/") and not link.startswith("//")) or link.startswith(("https://", "http://"))


def notification_create(*, user: Any, kind: str, title: str, body: str = "", link: str = "") -> Notification:
    """Store a notification for ``user`` and send ``notification_created`` after commit.

    ``kind`` is one of ``Notification.Kind``; ``title`` is required (at most 200 characters);
    ``link`` is a site path ("/courses/...") or an http(s) URL. Raises ``InvalidInput`` (400).
    """
    if user is None or getattr(user, "pk", None) is None:
        raise InvalidInput("A notification needs a recipient.")
    if kind not in Notification.Kind.values:
        raise InvalidInput(f"Unknown notification kind {kind!r}.")
    title = (title or "").strip()
    if not title or len(title) > _TITLE_MAX:
        raise InvalidInput(f"A notification needs a title of 1 to {_TITLE_MAX} characters.")
    link = (link or "").strip()
    if len(link) > _LINK_MAX or not _valid_link(link):
        raise InvalidInput("A notification link must be a site path or an http(s) URL.")
    with transaction.atomic():
        notification = Notification.objects.create(user_id=user.pk, kind=kind, title=title, body=body or "", link=link)
        _forget_unread_count(user.pk)
        events.notification_created.emit(
            NotificationCreatedPayload(
                notification_id=notification.pk,
                user_id=user.pk,
                kind=kind,
                title=title,
                body=notification.body,
                link=link,
                created_at=_iso(notification.created_at),
            ),
        )
    return notification


def _forget_unread_count(user_id: int) -> None:
    """Drop the cached badge count now and again after commit (a read in between recounts)."""
    key = unread_count_cache_key(user_id)

    def forget() -> None:
        try:
            cache.delete(key)
        except Exception:
            logger.warning("cannot forget the cached unread count of user %s", user_id, exc_info=True)

    forget()
    transaction.on_commit(forget, robust=True)


def _validated_ids(notification_ids: Iterable[Any]) -> list[int]:
    if isinstance(notification_ids, str | bytes):
        raise InvalidInput("Notification ids must be a list of numbers.")
    try:
        ids = list(notification_ids)
    except TypeError as exc:
        raise InvalidInput("Notification ids must be a list of numbers.") from exc
    if not ids:
        raise InvalidInput("Choose at least one notification.")
    if len(ids) > MAX_NOTIFICATION_IDS:
        raise InvalidInput(f"At most {MAX_NOTIFICATION_IDS} notifications at a time.")
    if any(not isinstance(pk, int) or isinstance(pk, bool) or pk <= 0 for pk in ids):
        raise InvalidInput("Notification ids must be positive whole numbers.")
    return sorted(set(ids))


def notification_mark_read(*, user: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the learner's notifications read (all unread ones when ``notification_ids`` is None).

    Returns how many became read (already-read ones are not counted). Sends
    ``notification_read`` after commit when any did. Raises ``InvalidInput`` (400) for
    malformed ids and ``NotificationNotFound`` (404) when any id is not the learner's; nothing
    is marked then.
    """
    _require_user(user)
    ids = None if notification_ids is None else _validated_ids(notification_ids)
    with transaction.atomic():
        owned = Notification.objects.filter(user_id=user.pk)
        if ids is not None and owned.filter(pk__in=ids).count() != len(ids):
            raise NotificationNotFound()
        unread = owned.filter(read_at__isnull=True)
        if ids is not None:
            unread = unread.filter(pk__in=ids)
        # Locking first means two concurrent calls cannot both count the same notification.
        marked = list(unread.select_for_update().order_by("pk").values_list("pk", flat=True))
        if not marked:
            return 0
        Notification.objects.filter(pk__in=marked, read_at__isnull=True).update(read_at=timezone.now())
        _forget_unread_count(user.pk)
        remaining = owned.filter(read_at__isnull=True).count()
        events.notification_read.emit(
            NotificationReadPayload(user_id=user.pk, notification_ids=marked, unread_count=remaining),
        )
    return len(marked)


def notification_prune_read(*, older_than: datetime) -> int:
    """Delete notifications read before ``older_than``; return how many. Unread ones are kept."""
    if not isinstance(older_than, datetime):
        raise InvalidInput("older_than must be a datetime.")
    with transaction.atomic():
        deleted, _by_model = Notification.objects.filter(read_at__isnull=False, read_at__lt=older_than).delete()
    return deleted


# --- Lesson opened -----------------------------------------------------------------------------

# A learner's "lesson opened" is recorded at most once per lesson in this many seconds (a tab
# reconnecting or reloaded costs nothing more).
LESSON_OPENED_EVERY_SECONDS = 60


def lesson_opened(*, user: Any, lesson: int, session: Mapping[str, Any] | None = None) -> ProgressResult | None:
    """A learner opened a lesson page (the page's live connection says so): their progress there
    is recorded as reached, not completed (``lesson_progress_record`` with ``completed=False``),
    so the lesson becomes where they are, and ``learner_activity`` puts them on it in the staff's
    live class view. At most once per learner and lesson in ``LESSON_OPENED_EVERY_SECONDS``
    (None when skipped: one cache operation). Raises what ``lesson_progress_record`` raises.
    """
    _require_user(user)
    if not isinstance(lesson, int) or isinstance(lesson, bool) or not 0 < lesson < 2**63:
        raise InvalidInput("lesson_id must be a lesson's id.")
    if not cache.add(f"academy:lesson-opened:{user.pk}:{lesson}", 1, LESSON_OPENED_EVERY_SECONDS):
        return None
    return lesson_progress_record(user=user, lesson=lesson, completed=False, session=session)
