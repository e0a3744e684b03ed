"""Staff writes for integrations (an HR or SIS sync through the API): many learners at once,
and people by their id in another system.

Batches are built from the one-learner services (``services.enrollment_add``,
``enrollment_approve``, ``enrollment_cancel``; ``bulk.invitation_create`` for unknown addresses),
so every enrollment is audited, notified and sent as an event as the admin's are, and the staff
rule is the admin's (``learning.access``). **One transaction per learner**: each item of a batch
succeeds or fails on its own and its result says which (``ItemResult``); a failing item writes
nothing and never undoes the others. Whole-batch refusals (no permission for the course, a
cohort of another course, too many invitations) come first and write nothing.

People by external id (:func:`external_user_put`) need the site-level permissions on users
(``auth.change_user``, plus ``auth.add_user`` to create), and never touch a staff member or a
superuser unless the caller is a superuser (changing their email would hand over their account).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from courses.models import CoursePage
from learning import access, bulk, services
from learning.models import Cohort, Enrollment, ExternalId

# The most learners or enrollments one batch call takes.
MAX_BATCH = 500
CHANGE_USERS_PERMISSION = "auth.change_user"
ADD_USERS_PERMISSION = "auth.add_user"
VIEW_USERS_PERMISSION = "auth.view_user"
NAME_MAX = 150
EXTERNAL_ID_MAX = ExternalId._meta.get_field("external_id").max_length
SYSTEM_MAX = ExternalId._meta.get_field("system").max_length
SYSTEM_PATTERN = re.compile(f"[-a-zA-Z0-9_]{{1,{SYSTEM_MAX}}}")
# What a username may not hold (Django's default username validator), replaced by "_" when an
# email becomes a username.
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")
# An external id: visible ASCII without "/" (it is a path segment), spaces only inside.
EXTERNAL_ID_REGEX = "[!-.0-~]([ !-.0-~]*[!-.0-~])?"
EXTERNAL_ID_PATTERN = re.compile(EXTERNAL_ID_REGEX)

ENROLLED = "enrolled"
ALREADY = "already"
INVITED = "invited"
APPROVED = "approved"
CANCELLED = "cancelled"
ERROR = "error"


class UserNotFound(services.NotFound):
    """No active user has that id or username."""

    default_message = "No user has this id or username."


class Duplicate(services.InvalidInput):
    """The same learner appears twice in one batch."""

    default_message = "This learner is already in this batch."


class CourseStaffOnly(services.Forbidden):
    """The caller may not see (or manage) this course's learners."""

    default_message = "You may not manage the learners of this course."


class EnrollmentNotFound(services.NotFound):
    """No enrollment with this id in this course among the learners the caller may see."""

    default_message = "This enrollment does not exist in this course."


class PrivilegedUser(services.Forbidden):
    """A staff member or superuser: managed in the admin, not by an integration."""

    default_message = "Staff and administrator accounts are managed in the admin, not by external id."


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item of a batch: ``result`` is one of ENROLLED, ALREADY, INVITED,
    APPROVED, CANCELLED or ERROR (then ``error`` says why and nothing was written for it)."""

    index: int
    result: str
    user_id: int | None = None
    enrollment_id: int | None = None
    error: services.ServiceError | None = None


@dataclass(frozen=True)
class LearnerRef:
    """One learner of an enroll batch, by exactly one of id, username or email."""

    id: int | None = None
    username: str | None = None
    email: str | None = None


def course_for_staff(*, course_id: int, by: Any, manage: bool) -> CoursePage:
    """The course ``course_id`` if ``by`` may see (``manage``: manage) its learners by the
    access policy's staff rule, as the admin asks. Raises ``services.CourseNotAvailable`` (404)
    for no such course and ``CourseStaffOnly`` (403) for a course that is not theirs."""
    course = CoursePage.objects.filter(pk=course_id).first()
    if course is None:
        raise services.CourseNotAvailable("This course does not exist.")
    who = access.viewer(by)
    allowed = access.may_manage_learners(who, course) if manage else access.may_see_learners(who, course)
    if not allowed:
        raise CourseStaffOnly()
    return course


def staff_enrollments(*, course: CoursePage, by: Any) -> Any:
    """The enrollments of ``course`` that ``by`` may see as staff (the staff rule's filter, so
    a cohort-scoped role sees its cohorts), as the admin's progress report loads them."""
    from learning.selectors import course_progress_report

    return course_progress_report(course_id=course.pk).filter(access.staff_enrollment_filter(access.viewer(by)))


def cohort_of(*, course: CoursePage, cohort_id: int | None) -> Cohort | None:
    """The cohort ``cohort_id`` of ``course`` (None for None). Raises ``services.InvalidInput``
    for a cohort that does not exist or belongs to another course."""
    if cohort_id is None:
        return None
    cohort = Cohort.objects.filter(pk=cohort_id, course_id=course.pk).first()
    if cohort is None:
        raise services.InvalidInput("This cohort does not exist in this course.")
    return cohort


def _place(enrollment: Enrollment, cohort: Cohort | None) -> None:
    """Put ``enrollment`` in ``cohort`` (the staff decision of a batch). The one call site that
    writes the cohort here."""
    if cohort is not None and enrollment.cohort_id != cohort.pk:
        Enrollment.objects.filter(pk=enrollment.pk).update(cohort=cohort)


def _resolve(refs: Sequence[LearnerRef]) -> tuple[dict[int, Any], dict[str, Any], dict[str, Any]]:
    """The users named by ``refs``: by id, by username, by lower-cased email (active ones only
    for email, as bulk enrollment reads them). Three queries at most."""
    users = get_user_model().objects
    ids = {ref.id for ref in refs if ref.id is not None}
    names = {ref.username for ref in refs if ref.username is not None}
    emails = {ref.email.lower() for ref in refs if ref.email is not None}
    by_id = {user.pk: user for user in users.filter(pk__in=ids)} if ids else {}
    by_name = {user.get_username(): user for user in users.filter(username__in=names)} if names else {}
    by_email: dict[str, Any] = {}
    if emails:
        for user in users.annotate(email_lower=Lower("email")).filter(email_lower__in=emails, is_active=True):
            by_email.setdefault(user.email_lower, user)
    return by_id, by_name, by_email


def enroll_many(*, course: CoursePage, by: Any, learners: Sequence[LearnerRef], cohort: Cohort | None = None) -> list[ItemResult]:
    """Enroll ``learners`` in ``course`` as ``by`` (active at once, as the admin's enroll),
    placing each in ``cohort`` when given (moving one already enrolled). An email nobody has is
    invited, as bulk enrollment does (the invitation enrolls them when they sign up); all the
    batch's invitations are counted at once against ``by``'s invitation limit, so a batch over
    it is refused whole (``bulk.InvitationsLimited``, 429) before anything is written. Raises
    ``services.InvalidInput`` for more than ``MAX_BATCH`` learners."""
    if len(learners) > MAX_BATCH:
        raise services.InvalidInput(f"At most {MAX_BATCH} learners per call.")
    by_id, by_name, by_email = _resolve(learners)
    keys: list[tuple[str, Any] | None] = []
    seen: set[tuple[str, Any]] = set()
    invitations = 0
    for ref in learners:
        user = (by_id.get(ref.id) if ref.id is not None else by_name.get(ref.username) if ref.username is not None
                else by_email.get((ref.email or "").lower()))
        key: tuple[str, Any] | None = (
            ("user", user) if user is not None else ("email", (ref.email or "").lower()) if ref.email else None
        )
        identity = None if key is None else ("user", user.pk) if user is not None else key
        if identity is not None and identity in seen:
            keys.append(("duplicate", None))
            continue
        if identity is not None:
            seen.add(identity)
            invitations += key is not None and key[0] == "email"
        keys.append(key)
    if invitations:
        bulk.invitations_reserve(by=by, count=invitations, what="This batch", fewer="send fewer addresses")
    results: list[ItemResult] = []
    for index, key in enumerate(keys):
        results.append(_enroll_one(index, key, course=course, by=by, cohort=cohort))
    return results


def _enroll_one(index: int, key: tuple[str, Any] | None, *, course: CoursePage, by: Any, cohort: Cohort | None) -> ItemResult:
    if key is None:
        return ItemResult(index=index, result=ERROR, error=UserNotFound())
    kind, value = key
    if kind == "duplicate":
        return ItemResult(index=index, result=ERROR, error=Duplicate())
    try:
        if kind == "email":
            bulk.invitation_create(email=value, course=course, by=by)
            return ItemResult(index=index, result=INVITED)
        user = value
        with transaction.atomic():
            outcome = services.enrollment_add(user=user, course=course, by=by)
            _place(outcome.enrollment, cohort)
    except services.ServiceError as exc:
        return ItemResult(index=index, result=ERROR, user_id=value.pk if kind == "user" else None, error=exc)
    return ItemResult(index=index, result=ENROLLED if outcome.changed else ALREADY, user_id=user.pk,
                      enrollment_id=outcome.enrollment.pk)


def _decide_many(*, course: CoursePage, by: Any, enrollment_ids: Sequence[int], approve: bool) -> list[ItemResult]:
    if len(enrollment_ids) > MAX_BATCH:
        raise services.InvalidInput(f"At most {MAX_BATCH} enrollments per call.")
    visible = dict(
        Enrollment.objects.filter(pk__in=set(enrollment_ids), course_id=course.pk)
        .filter(access.staff_enrollment_filter(access.viewer(by))).values_list("pk", "user_id")
    )
    results: list[ItemResult] = []
    seen: set[int] = set()
    for index, enrollment_id in enumerate(enrollment_ids):
        if enrollment_id in seen:
            results.append(ItemResult(index=index, result=ERROR, enrollment_id=enrollment_id, error=Duplicate()))
            continue
        seen.add(enrollment_id)
        if enrollment_id not in visible:
            results.append(ItemResult(index=index, result=ERROR, enrollment_id=enrollment_id, error=EnrollmentNotFound()))
            continue
        try:
            if approve:
                outcome = services.enrollment_approve(enrollment=enrollment_id, by=by)
            else:
                outcome = services.enrollment_cancel(enrollment=enrollment_id, by=by, as_staff=True)
        except services.ServiceError as exc:
            results.append(ItemResult(index=index, result=ERROR, enrollment_id=enrollment_id,
                                      user_id=visible[enrollment_id], error=exc))
            continue
        done = APPROVED if approve else CANCELLED
        results.append(ItemResult(index=index, result=done if outcome.changed else ALREADY,
                                  enrollment_id=enrollment_id, user_id=visible[enrollment_id]))
    return results


def approve_many(*, course: CoursePage, by: Any, enrollment_ids: Sequence[int]) -> list[ItemResult]:
    """Approve the pending enrollments ``enrollment_ids`` of ``course`` (``services.enrollment_approve``
    each, in its own transaction). An id that is not an enrollment of this course among the
    learners ``by`` may see is an error item (``EnrollmentNotFound``), as a repeated one is."""
    return _decide_many(course=course, by=by, enrollment_ids=enrollment_ids, approve=True)


def cancel_many(*, course: CoursePage, by: Any, enrollment_ids: Sequence[int]) -> list[ItemResult]:
    """Cancel (unenroll) the enrollments ``enrollment_ids`` of ``course`` as staff
    (``services.enrollment_cancel`` each, audited); errors per item as :func:`approve_many`."""
    return _decide_many(course=course, by=by, enrollment_ids=enrollment_ids, approve=False)


# --- People by external id -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalUser:
    """A user found or written by external id; ``created``/``changed`` say what the call did."""

    user: Any
    system: str
    external_id: str
    created: bool = False
    changed: bool = False
    fields: list[str] = field(default_factory=list)


def may_manage_users(by: Any) -> bool:
    """Whether ``by`` may create and update people by external id (``auth.change_user``)."""
    return bool(by is not None and by.is_authenticated and by.is_active and by.has_perm(CHANGE_USERS_PERMISSION))


def _check_external_key(system: str, external_id: str) -> None:
    if not SYSTEM_PATTERN.fullmatch(system or ""):
        raise services.InvalidInput(f"A system name is 1 to {SYSTEM_MAX} letters, digits, - or _.")
    if len(external_id or "") > EXTERNAL_ID_MAX or not EXTERNAL_ID_PATTERN.fullmatch(external_id or ""):
        raise services.InvalidInput(
            f"An external id is 1 to {EXTERNAL_ID_MAX} visible ASCII characters without '/' (spaces only inside)."
        )


def _guard_privileged(user: Any, by: Any) -> None:
    if (user.is_staff or user.is_superuser) and not by.is_superuser:
        raise PrivilegedUser()


def external_user_get(*, system: str, external_id: str, by: Any) -> ExternalUser:
    """The user with ``external_id`` in ``system``. Needs ``auth.view_user`` or
    ``auth.change_user`` (``services.Forbidden``); ``services.NotFound`` when nobody has it."""
    if not (may_manage_users(by) or (by.is_active and by.has_perm(VIEW_USERS_PERMISSION))):
        raise services.Forbidden("You may not look up users.")
    _check_external_key(system, external_id)
    row = ExternalId.objects.select_related("user").filter(system=system, external_id=external_id).first()
    if row is None:
        raise services.NotFound("Nobody has this external id in this system.")
    return ExternalUser(user=row.user, system=system, external_id=external_id)


def external_user_put(
    *, system: str, external_id: str, by: Any, email: str, first_name: str = "", last_name: str = "",
    username: str | None = None, active: bool = True,
) -> ExternalUser:
    """Make the user with ``external_id`` in ``system`` look like this (idempotent: the same call
    again changes nothing). Unknown id: the active or inactive user with that email (case
    insensitive) is linked to it when they have no id in ``system`` yet, else a new user is made
    (``username`` or the email as username, no usable password: they set one by password reset).
    ``active=False`` deactivates (their sessions and tokens end, as any deactivation).

    Raises ``services.Forbidden`` without ``auth.change_user`` (and ``auth.add_user`` to create),
    ``PrivilegedUser`` (403) for a staff or superuser account unless ``by`` is a superuser,
    ``services.InvalidInput`` (400) for a malformed email, name or id, and ``services.Conflict``
    (409) for an email or username another user has, or an email whose user already has another
    id in ``system``. Nothing is written when it raises."""
    if not may_manage_users(by):
        raise services.Forbidden("You may not manage users.")
    _check_external_key(system, external_id)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise services.InvalidInput("Enter a valid email address.") from exc
    if len(first_name) > NAME_MAX or len(last_name) > NAME_MAX:
        raise services.InvalidInput(f"Names are at most {NAME_MAX} characters.")
    user_model = get_user_model()
    try:
        with transaction.atomic():
            row = ExternalId.objects.select_for_update().select_related("user").filter(
                system=system, external_id=external_id
            ).first()
            created = False
            linked = row is None
            if row is not None:
                user = row.user
            else:
                user = user_model.objects.filter(email__iexact=email).order_by("pk").first()
                if user is not None and ExternalId.objects.filter(user=user, system=system).exists():
                    raise services.Conflict("A user with this email has another external id in this system.")
                if user is None:
                    if not by.has_perm(ADD_USERS_PERMISSION):
                        raise services.Forbidden("You may not create users.")
                    user = _new_user(username or USERNAME_UNSAFE.sub("_", email))
                    created = True
                _guard_privileged(user, by)
                ExternalId.objects.create(user=user, system=system, external_id=external_id)
            _guard_privileged(user, by)
            changed = _apply(user, email=email, first_name=first_name, last_name=last_name, active=active)
    except IntegrityError as exc:
        raise services.Conflict("Another request wrote this user at the same time; try again.") from exc
    return ExternalUser(user=user, system=system, external_id=external_id, created=created,
                        changed=linked or bool(changed), fields=changed)


def _new_user(username: str) -> Any:
    user_model = get_user_model()
    field_ = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        username = field_.clean(username, None)
    except ValidationError as exc:
        raise services.InvalidInput(f"Username: {'; '.join(exc.messages)}") from exc
    if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
        raise services.Conflict("That username is taken.")
    user = user_model(**{user_model.USERNAME_FIELD: username})
    user.set_unusable_password()
    user.save()
    return user


def _apply(user: Any, *, email: str, first_name: str, last_name: str, active: bool) -> list[str]:
    """Write the fields that differ; the names of those written."""
    wanted = {"email": email, "first_name": first_name, "last_name": last_name, "is_active": active}
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    if "email" in changed and get_user_model().objects.filter(Q(email__iexact=email) & ~Q(pk=user.pk)).exists():
        raise services.Conflict("Another user has this email.")
    if changed:
        for name in changed:
            setattr(user, name, wanted[name])
        user.save(update_fields=changed)
    return changed
