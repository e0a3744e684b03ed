"""Cohorts (the runs of a course) and the staff roles in them: the one home of their rules.

A course runs for one or more cohorts (``learning.models.Cohort``), each with its dates, its
learners (``Enrollment.cohort``) and its staff (``CourseRole``: teachers and assistants of the
whole course or of one cohort). This module holds every write and rule about them:

- **The default cohort** of a course (:func:`default_cohort`) is made on first need, race-safe
  (the database allows one default per course: a concurrent creation loses and reads the
  winner). Self-enrollment (``services.enrollment_request``) places learners there.
- **Learners in no cohort** (enrollments made before cohorts existed, or by code that does not
  place them) count as the default cohort's, everywhere: counts, filters, the access policy's
  cohort-limited roles (``learning.access.staff_enrollment_filter``) and moves. No data
  migration is needed; making another cohort the default first places them in the old one, so
  nobody changes cohort silently.
- **Placement by staff** (``services.enrollment_add``, bulk uploads with a ``cohort`` column or a
  chosen cohort) puts a learner in a cohort of that course the staff member manages
  (:func:`placement_cohort`); :func:`enrollment_move` moves one between cohorts of the same
  course, audited in Wagtail's log (``learning.enrollment.move``).
- **Cohorts** are created, edited and deleted by the course's managers and whole-course teachers
  (``access.may_manage_cohorts``); a cohort that still has learners is not deleted
  (``Enrollment.cohort`` protects them): a 409 that says how many, never a 500.
- **Roles** are given and taken by the course's managers (``access.may_manage_course_staff``);
  a role brings admin access through the ``access.COURSE_STAFF_GROUP`` group (which grants only
  ``wagtailadmin.access_admin``), taken back with the user's last role.

Every function takes keyword-only arguments, runs in one transaction and raises a
``services.ServiceError`` (with its HTTP status) when a rule is broken; nothing is written then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from wagtail.log_actions import log

from courses.models import CoursePage
from learning import access
from learning.models import Cohort, CourseRole, Enrollment
from learning.services import (
    Conflict,
    EnrollmentResult,
    Forbidden,
    InvalidInput,
    NotFound,
    _require_user,
)

# The name of a course's default cohort when it is made on first need.
DEFAULT_COHORT_NAME = "Open enrollment"
NAME_MAX = Cohort._meta.get_field("name").max_length
# Names tried for the default cohort when staff already used the default name for another one.
_DEFAULT_NAME_ATTEMPTS = 20

# Audit-log actions of staff on cohorts and roles (registered in learning/wagtail_hooks.py).
AUDIT_ACTIONS = {
    "learning.enrollment.move": ("Move to another cohort", "Moved the learner to another cohort"),
    "learning.cohort.create": ("Create cohort", "Created the cohort"),
    "learning.cohort.edit": ("Edit cohort", "Edited the cohort"),
    "learning.cohort.delete": ("Delete cohort", "Deleted the cohort"),
    "learning.role.grant": ("Give course role", "Gave a teacher or assistant role"),
    "learning.role.revoke": ("Take course role", "Took a teacher or assistant role back"),
}


# --- The default cohort ---------------------------------------------------------------------------


def default_cohort(course: CoursePage | int) -> Cohort:
    """The default cohort of ``course`` (a page or its id), made on first need.

    Race-safe: the database allows one default cohort per course, so of two concurrent
    creations one inserts and the other reads the winner. One query when it exists."""
    course_id = getattr(course, "pk", course)
    found = Cohort.objects.filter(course_id=course_id, is_default=True).first()
    if found is not None:
        return found
    taken = set(Cohort.objects.filter(course_id=course_id).values_list("name", flat=True))
    names = [DEFAULT_COHORT_NAME, *(f"{DEFAULT_COHORT_NAME} ({n})" for n in range(2, _DEFAULT_NAME_ATTEMPTS))]
    name = next((candidate for candidate in names if candidate not in taken), names[-1])
    try:
        with transaction.atomic():
            return Cohort.objects.create(course_id=course_id, name=name, is_default=True)
    except IntegrityError:
        winner = Cohort.objects.filter(course_id=course_id, is_default=True).first()
        if winner is None:
            raise
        return winner


def cohort_of(enrollment: Enrollment) -> Cohort:
    """The cohort ``enrollment`` is in: its own, or the course's default one when it has none."""
    if enrollment.cohort_id is not None:
        return enrollment.cohort  # type: ignore[return-value]
    return default_cohort(enrollment.course_id)


def effective_cohort_id(enrollment: Enrollment, *, default_id: int | None) -> int | None:
    """The id of the cohort ``enrollment`` counts in (``default_id`` when it has none). No query."""
    return enrollment.cohort_id if enrollment.cohort_id is not None else default_id


def cohort_enrollment_filter(cohort: Cohort, *, prefix: str = "") -> Q:
    """A filter on enrollments (``prefix`` leads to them) keeping the learners of ``cohort``
    (for the default cohort, with those in no cohort)."""
    condition = Q(**{f"{prefix}cohort_id": cohort.pk})
    if cohort.is_default:
        condition |= Q(**{f"{prefix}cohort__isnull": True, f"{prefix}course_id": cohort.course_id})
    return condition


def learner_scope(who: Any, course: CoursePage, *, cohort: Cohort | None = None, manage: bool = False) -> Q | None:
    """The filter on enrollments of ``course`` that a staff door applies for ``who`` (an
    ``access.Viewer``): the cohorts they may see (or, with ``manage``, manage:
    ``access.course_enrollment_scope``) and, with ``cohort``, that one cohort. None when
    nothing narrows the course's learners (so unfiltered lists keep their exact query)."""
    scope = access.course_enrollment_scope(who, course, manage=manage)
    if cohort is not None:
        chosen = cohort_enrollment_filter(cohort)
        scope = chosen if scope is None else scope & chosen
    return scope


# --- Reading cohorts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortSummary:
    """A cohort with its learners counted: ``learners`` have access (active or completed),
    ``pending`` wait for approval, ``enrollments`` is every row (cancelled ones too)."""

    cohort: Cohort
    learners: int
    pending: int
    enrollments: int


def course_cohorts(*, course: CoursePage, visible: frozenset[int] | None = None) -> list[Cohort]:
    """The cohorts of ``course`` (the default first, then by start and name), limited to the
    ids in ``visible`` unless None. One query."""
    rows = Cohort.objects.filter(course_id=course.pk)
    if visible is not None:
        rows = rows.filter(pk__in=visible)
    return list(rows.order_by("-is_default", "starts_on", "name", "pk"))


def cohort_summaries(*, course: CoursePage, visible: frozenset[int] | None = None) -> list[CohortSummary]:
    """The cohorts of ``course`` with their learners counted (those in no cohort count in the
    default one). Two queries whatever the number of cohorts and learners."""
    cohorts = course_cohorts(course=course, visible=visible)
    access_statuses = list(access.ACCESS_STATUSES)
    counts = {
        row["cohort_id"]: row
        for row in Enrollment.objects.filter(course_id=course.pk).values("cohort_id").annotate(
            learners=Count("pk", filter=Q(status__in=access_statuses)),
            pending=Count("pk", filter=Q(status=Enrollment.Status.PENDING_APPROVAL)),
            enrollments=Count("pk"),
        ).order_by()
    }
    unplaced = counts.get(None, {})
    summaries = []
    for cohort in cohorts:
        row = counts.get(cohort.pk, {})
        extra = unplaced if cohort.is_default else {}
        summaries.append(CohortSummary(
            cohort=cohort,
            learners=row.get("learners", 0) + extra.get("learners", 0),
            pending=row.get("pending", 0) + extra.get("pending", 0),
            enrollments=row.get("enrollments", 0) + extra.get("enrollments", 0),
        ))
    return summaries


def course_staff(*, course: CoursePage) -> list[CourseRole]:
    """The teachers and assistants of ``course`` with their users and cohorts. One query."""
    return list(
        CourseRole.objects.filter(course_id=course.pk).select_related("user", "cohort")
        .order_by("role", "user__username", "cohort__name", "pk")
    )


# --- Validation -----------------------------------------------------------------------------------


def _course_of(course: Any) -> CoursePage:
    course_id = getattr(course, "pk", course)
    found = CoursePage.objects.filter(pk=course_id).first() if isinstance(course_id, int) else None
    if found is None:
        raise NotFound("This course does not exist.")
    return found


def _clean_name(name: Any) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise InvalidInput(f"Name the cohort in 1 to {NAME_MAX} characters.")
    return cleaned


def _clean_dates(starts_on: date | None, ends_on: date | None) -> None:
    for value in (starts_on, ends_on):
        if value is not None and not isinstance(value, date):
            raise InvalidInput("Dates are calendar dates (YYYY-MM-DD).")
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput("A cohort cannot end before it starts.")


def cohort_in_course(*, course: CoursePage | int, cohort: Cohort | int | None) -> Cohort | None:
    """``cohort`` (an instance or an id) when it is one of ``course``'s cohorts; None stays
    None. Raises ``InvalidInput`` (400) for a cohort of another course or none at all."""
    if cohort is None:
        return None
    course_id = getattr(course, "pk", course)
    cohort_id = getattr(cohort, "pk", cohort)
    if not isinstance(cohort_id, int) or isinstance(cohort_id, bool):
        raise InvalidInput("Choose a cohort of this course.")
    found = cohort if isinstance(cohort, Cohort) and cohort.course_id == course_id else (
        Cohort.objects.filter(pk=cohort_id, course_id=course_id).first()
    )
    if found is None:
        raise InvalidInput("Choose a cohort of this course.")
    return found


def _require_cohort_manager(course: CoursePage, *, by: Any) -> None:
    _require_user(by)
    if not access.may_manage_cohorts(access.viewer(by), course):
        raise Forbidden("You may not manage the cohorts of this course.")


def _audit(instance: Any, action: str, *, by: Any, title: str, data: dict[str, Any]) -> None:
    log(instance=instance, action=action, user=by, title=title[:255], data=data)


# --- Cohorts --------------------------------------------------------------------------------------


def _make_default(cohort: Cohort) -> None:
    """Make ``cohort`` its course's default: learners in no cohort are first placed in the old
    default, so they stay where they were."""
    old = Cohort.objects.select_for_update().filter(course_id=cohort.course_id, is_default=True).first()
    if old is not None and old.pk != cohort.pk:
        Enrollment.objects.filter(course_id=cohort.course_id, cohort__isnull=True).update(cohort=old)
        Cohort.objects.filter(pk=old.pk).update(is_default=False)
    elif old is None:
        Enrollment.objects.filter(course_id=cohort.course_id, cohort__isnull=True).update(cohort=cohort)
    cohort.is_default = True


def cohort_create(
    *, course: CoursePage | int, by: Any, name: str, starts_on: date | None = None, ends_on: date | None = None,
    is_default: bool = False,
) -> Cohort:
    """A new cohort of ``course``. Raises ``Forbidden`` (403: not a manager of the course's
    cohorts), ``InvalidInput`` (400: empty or long name, ends before it starts) and
    ``Conflict`` (409: the course has a cohort of that name). Audited."""
    live = _course_of(course)
    _require_cohort_manager(live, by=by)
    cleaned = _clean_name(name)
    _clean_dates(starts_on, ends_on)
    with transaction.atomic():
        cohort = Cohort(course_id=live.pk, name=cleaned, starts_on=starts_on, ends_on=ends_on)
        if is_default:
            _make_default(cohort)
        try:
            with transaction.atomic():
                cohort.save(force_insert=True)
        except IntegrityError as exc:
            raise Conflict(f"This course already has a cohort named “{cleaned}”.") from exc
        _audit(cohort, "learning.cohort.create", by=by, title=f"{cleaned} in {live.title}",
               data={"cohort_id": cohort.pk, "course_id": live.pk})
    return cohort


def cohort_update(
    *, cohort: Cohort | int, by: Any, name: str, starts_on: date | None, ends_on: date | None,
    is_default: bool | None = None,
) -> Cohort:
    """Change a cohort's name and dates (and make it the default with ``is_default=True``; the
    default stays one until another is made the default). Errors as :func:`cohort_create`, and
    ``NotFound`` (404) for an unknown cohort."""
    with transaction.atomic():
        locked = _locked_cohort(cohort)
        course = _course_of(locked.course_id)
        _require_cohort_manager(course, by=by)
        cleaned = _clean_name(name)
        _clean_dates(starts_on, ends_on)
        locked.name, locked.starts_on, locked.ends_on = cleaned, starts_on, ends_on
        if is_default and not locked.is_default:
            _make_default(locked)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:
            raise Conflict(f"This course already has a cohort named “{cleaned}”.") from exc
        _audit(locked, "learning.cohort.edit", by=by, title=f"{cleaned} in {course.title}",
               data={"cohort_id": locked.pk, "course_id": course.pk})
    return locked


def _locked_cohort(cohort: Cohort | int) -> Cohort:
    cohort_id = getattr(cohort, "pk", cohort)
    found = (
        Cohort.objects.select_for_update().filter(pk=cohort_id).first()
        if isinstance(cohort_id, int) and not isinstance(cohort_id, bool) else None
    )
    if found is None:
        raise NotFound("This cohort does not exist.")
    return found


def cohort_delete(*, cohort: Cohort | int, by: Any) -> None:
    """Delete a cohort that has no learners (cancelled enrollments count: their row keeps its
    cohort). Raises ``Conflict`` (409) with the number of learners still in it (for the default
    cohort, those in no cohort too), ``Forbidden`` (403) and ``NotFound`` (404). Its roles go
    with it. Audited."""
    with transaction.atomic():
        locked = _locked_cohort(cohort)
        course = _course_of(locked.course_id)
        _require_cohort_manager(course, by=by)
        remaining = Enrollment.objects.filter(cohort_enrollment_filter(locked)).count()
        if remaining:
            noun = "learner" if remaining == 1 else "learners"
            raise Conflict(
                f"“{locked.name}” still has {remaining} {noun} (cancelled enrollments included); "
                "move them to another cohort first."
            )
        _audit(locked, "learning.cohort.delete", by=by, title=f"{locked.name} in {course.title}",
               data={"cohort_id": locked.pk, "course_id": course.pk})
        holders = list(CourseRole.objects.filter(cohort=locked).values_list("user_id", flat=True))
        locked.delete()
        _drop_group_without_roles(holders)


# --- Placement ------------------------------------------------------------------------------------


def placement_cohort(*, course: CoursePage, by: Any, cohort: Cohort | int | None) -> Cohort:
    """The cohort a staff member ``by`` places a learner of ``course`` in: ``cohort`` when it
    is one of the course's and one they manage; without one, the default cohort, or their only
    cohort for a teacher of one cohort. Raises ``InvalidInput`` (400: a cohort of another
    course, or a choice needed) and ``Forbidden`` (403: a cohort they do not manage)."""
    chosen = cohort_in_course(course=course, cohort=cohort)
    managed = access.managed_cohort_ids(access.viewer(by), course)
    if chosen is None:
        if managed is None:
            return default_cohort(course)
        if len(managed) == 1:
            return Cohort.objects.get(pk=next(iter(managed)))
        fallback = default_cohort(course)
        if fallback.pk in managed:
            return fallback
        raise InvalidInput("Choose one of your cohorts.")
    if managed is not None and chosen.pk not in managed:
        raise Forbidden(f"You may not place learners in “{chosen.name}”.")
    return chosen


def enrollment_move(*, enrollment: Enrollment | int, cohort: Cohort | int, by: Any) -> EnrollmentResult:
    """Move a learner to another cohort of the same course (a staff decision).

    ``by`` must manage the learner (``access.may_manage_enrollment``) and the cohort they go to
    (a teacher of one cohort moves nobody out of it to a cohort they do not teach). Moving to
    the cohort they are in changes nothing (``changed=False``). Audited in Wagtail's log
    (``learning.enrollment.move``, with both cohorts). Raises ``NotFound`` (404),
    ``InvalidInput`` (400: a cohort of another course) and ``Forbidden`` (403)."""
    _require_user(by)
    enrollment_id = getattr(enrollment, "pk", enrollment)
    if not isinstance(enrollment_id, int) or isinstance(enrollment_id, bool):
        raise NotFound("This enrollment does not exist.")
    with transaction.atomic():
        locked = (
            Enrollment.objects.select_for_update(of=("self",)).select_related("course", "user")
            .filter(pk=enrollment_id).first()
        )
        if locked is None:
            raise NotFound("This enrollment does not exist.")
        who = access.viewer(by)
        if not access.may_manage_enrollment(who, locked):
            raise Forbidden("You may not manage this learner.")
        target = cohort_in_course(course=locked.course_id, cohort=cohort)
        assert target is not None  # cohort is required
        managed = access.managed_cohort_ids(who, locked.course)
        if managed is not None and target.pk not in managed:
            raise Forbidden(f"You may not place learners in “{target.name}”.")
        current = cohort_of(locked)
        if current.pk == target.pk:
            if locked.cohort_id is None:
                Enrollment.objects.filter(pk=locked.pk).update(cohort=target)
                locked.cohort = target
            return EnrollmentResult(enrollment=locked, created=False, changed=False)
        Enrollment.objects.filter(pk=locked.pk).update(cohort=target)
        locked.cohort = target
        log(
            instance=locked, action="learning.enrollment.move", user=by,
            title=f"{locked.user.get_username()} in {locked.course.title}"[:255],
            data={
                "enrollment_id": locked.pk, "learner_id": locked.user_id, "course_id": locked.course_id,
                "from_cohort_id": current.pk, "from_cohort": current.name,
                "to_cohort_id": target.pk, "to_cohort": target.name,
            },
        )
    return EnrollmentResult(enrollment=locked, created=False, changed=True)


# --- Roles ----------------------------------------------------------------------------------------


def course_staff_group() -> Group:
    """The group that gives teachers and assistants the Wagtail admin, and nothing else
    (``access.COURSE_STAFF_GROUP``: ``wagtailadmin.access_admin`` only), made on first need."""
    group, _created = Group.objects.get_or_create(name=access.COURSE_STAFF_GROUP)
    app_label, codename = access.ADMIN_ACCESS_PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    if not group.permissions.filter(pk=permission.pk).exists():
        group.permissions.add(permission)
    return group


def _drop_group_without_roles(user_ids: Iterable[int]) -> None:
    """Take the course staff group from those of ``user_ids`` who hold no role any more."""
    ids = set(user_ids)
    if not ids:
        return
    still = set(CourseRole.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    gone = ids - still
    group = Group.objects.filter(name=access.COURSE_STAFF_GROUP).first()
    if gone and group is not None:
        group.user_set.remove(*gone)


def role_grant(
    *, course: CoursePage | int, user: Any, role: str, by: Any, cohort: Cohort | int | None = None
) -> tuple[CourseRole, bool]:
    """Give ``user`` the ``role`` (``CourseRole.Role``) in ``course``, or in one of its cohorts.

    One role per user and course (or cohort): giving it again changes its kind; returns the
    role and whether it is new. Adds the user to the course staff group (the admin). Raises
    ``Forbidden`` (403: ``by`` does not manage the course's staff), ``InvalidInput`` (400: an
    unknown role, an inactive user, a cohort of another course). Audited."""
    _require_user(by)
    live = _course_of(course)
    if not access.may_manage_course_staff(access.viewer(by), live):
        raise Forbidden("You may not give roles in this course.")
    if role not in CourseRole.Role.values:
        raise InvalidInput("Choose teacher or assistant.")
    if user is None or getattr(user, "pk", None) is None or not user.is_active:
        raise InvalidInput("That user does not exist or is deactivated.")
    with transaction.atomic():
        chosen = cohort_in_course(course=live, cohort=cohort)
        existing = CourseRole.objects.select_for_update().filter(
            user_id=user.pk, course_id=live.pk, cohort=chosen
        ).first()
        created = existing is None
        if existing is None:
            try:
                with transaction.atomic():
                    existing = CourseRole.objects.create(
                        user_id=user.pk, course_id=live.pk, cohort=chosen, role=role, granted_by=by
                    )
            except IntegrityError:
                existing = CourseRole.objects.get(user_id=user.pk, course_id=live.pk, cohort=chosen)
                created = False
        if existing.role != role:
            existing.role = role
            existing.granted_by = by
            existing.save(update_fields=["role", "granted_by"])
        user.groups.add(course_staff_group())
        _audit(existing, "learning.role.grant", by=by, title=f"{user.get_username()} in {live.title}",
               data={"role": role, "user_id": user.pk, "course_id": live.pk,
                     "cohort_id": chosen.pk if chosen else None})
    return existing, created


def role_revoke(*, role: CourseRole | int, by: Any) -> None:
    """Take a role back (the user leaves the course staff group with their last role).
    Raises ``NotFound`` (404) and ``Forbidden`` (403) as :func:`role_grant`. Audited."""
    _require_user(by)
    role_id = getattr(role, "pk", role)
    with transaction.atomic():
        found = (
            CourseRole.objects.select_for_update().select_related("user", "course").filter(pk=role_id).first()
            if isinstance(role_id, int) and not isinstance(role_id, bool) else None
        )
        if found is None:
            raise NotFound("This role does not exist.")
        if not access.may_manage_course_staff(access.viewer(by), found.course):
            raise Forbidden("You may not take roles in this course.")
        _audit(found, "learning.role.revoke", by=by, title=f"{found.user.get_username()} in {found.course.title}",
               data={"role": found.role, "user_id": found.user_id, "course_id": found.course_id,
                     "cohort_id": found.cohort_id})
        user_id = found.user_id
        found.delete()
        _drop_group_without_roles([user_id])


__all__ = [
    "AUDIT_ACTIONS",
    "DEFAULT_COHORT_NAME",
    "CohortSummary",
    "cohort_create",
    "cohort_delete",
    "cohort_enrollment_filter",
    "cohort_in_course",
    "cohort_of",
    "cohort_summaries",
    "cohort_update",
    "course_cohorts",
    "course_staff",
    "course_staff_group",
    "default_cohort",
    "effective_cohort_id",
    "enrollment_move",
    "learner_scope",
    "placement_cohort",
    "role_grant",
    "role_revoke",
]
