"""Bulk enrollment from a CSV of email addresses, and invitations for unknown addresses.

``bulk_enrollment_create`` checks and stores an upload (a ``BulkEnrollment`` row) and queues
``learning.tasks.run_bulk_enrollment``; the task calls ``bulk_enrollment_run``, which works
through the rows in chunks (``processed_rows`` is the progress bar) and, for each address:

- an existing user: ``services.enrollment_add`` (or ``enrollment_cancel`` when unenrolling),
  so every enrollment is audited, the learner is notified and events are sent as usual;
- an unknown address (enrolling only): an ``Invitation`` and an email with a sign-up link;
  signing up through it with that address enrolls the new learner (``invitation_accept``);
- a malformed address or a repeated one: listed as invalid with its line number.

Cohorts: learners are placed in the upload's chosen cohort (``BulkEnrollment.cohort``), or in the
one named by the row's ``cohort`` column when the file has a header naming ``email`` and
``cohort`` columns; without either, in the default cohort (``learning.cohorts.placement_cohort``).
Every cohort named must be one of the course's that the uploader manages, checked before anything
is stored. Invitations remember their cohort for the sign-up.

Safe to run twice: a finished job is not run again, and every step is idempotent.

Invitations are emails to addresses that never asked for them, so an upload counts them first
(``upload_plan``): above ``BULK_INVITATIONS_CONFIRM_ABOVE`` the upload is stored only once its
uploader confirmed that number (``ConfirmationNeeded`` otherwise), and every upload's invitations
count, all at once, against the uploader's ``RATELIMIT_INVITATIONS`` in the shared limiter: past
it the whole upload is refused (``InvitationsLimited``, 429) and nothing is stored or sent.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from academy import ratelimit
from academy.tasks import enqueue
from courses.models import CoursePage
from learning import services
from learning.models import BulkEnrollment, Cohort, Enrollment, Invitation

logger = logging.getLogger(__name__)

# The largest upload accepted (bytes) and the most rows in it.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
# Rows handled per step of the task (one progress update each).
CHUNK_ROWS = 200
# A header cell naming the email column (the first column is used either way).
EMAIL_HEADERS = {"email", "e-mail", "email address"}
# A header cell naming the cohort column (optional).
COHORT_HEADERS = {"cohort", "section"}


@dataclass(frozen=True)
class Row:
    """One line of the upload: its number in the file and the address as written."""

    line: int
    text: str
    cohort: str = ""


def parse_rows(source: str) -> list[Row]:
    """The non-empty lines of a CSV (first column), a header line left out; with a header that
    names a cohort column, each row's cohort name as written (empty: the upload's cohort)."""
    rows: list[Row] = []
    cohort_column: int | None = None
    for number, cells in enumerate(csv.reader(io.StringIO(source)), 1):
        text = (cells[0] if cells else "").strip()
        if number == 1 and text.lower() in EMAIL_HEADERS:
            headers = [cell.strip().lower() for cell in cells]
            cohort_column = next((index for index, cell in enumerate(headers) if cell in COHORT_HEADERS), None)
            continue
        if not text:
            continue
        cohort = cells[cohort_column].strip() if cohort_column is not None and cohort_column < len(cells) else ""
        rows.append(Row(line=number, text=text, cohort=" ".join(cohort.split())))
    return rows


def _named_cohorts(*, course: CoursePage, by: Any, rows: list[Row]) -> dict[str, Any]:
    """{name: cohort} for the cohort names of ``rows``: each must be one of the course's
    cohorts that ``by`` may place learners in. Raises ``services.InvalidInput`` (400) naming
    the unknown ones, ``services.Forbidden`` (403) for one they do not manage. One query."""
    from learning.cohorts import course_cohorts, placement_cohort

    names = {row.cohort for row in rows if row.cohort}
    if not names:
        return {}
    known = {cohort.name: cohort for cohort in course_cohorts(course=course) if cohort.name in names}
    unknown = sorted(names - set(known))
    if unknown:
        listed = ", ".join(f"“{name}”" for name in unknown[:5])
        raise services.InvalidInput(f"This course has no cohort named {listed}; check the cohort column.")
    for cohort in known.values():
        placement_cohort(course=course, by=by, cohort=cohort)
    return known


@dataclass(frozen=True)
class UploadPlan:
    """What an upload would do, known before anything is stored: its text, its rows and how
    many invitation emails it sends (unknown, well-formed, distinct addresses when enrolling)."""

    source: str
    mode: str
    rows: int
    invitations: int


class ConfirmationNeeded(services.ServiceError):
    """An upload sends more invitations than ``BULK_INVITATIONS_CONFIRM_ABOVE`` without its
    uploader's confirmation of that number. Not an error to show: the door asks, then calls
    again with ``confirmed_invitations``."""

    status_code = 409
    default_message = "Confirm the invitations this upload sends."

    def __init__(self, plan: UploadPlan) -> None:
        super().__init__(f"This upload sends {plan.invitations} invitations by email.")
        self.plan = plan


class InvitationsLimited(services.RateLimited):
    """The uploader sent as many invitations recently as ``RATELIMIT_INVITATIONS`` allows (429)."""

    default_message = "Too many invitations; try again later."


class InvitationsUnavailable(services.ServiceError):
    """The limiter cannot be reached, and invitations fail closed (503)."""

    status_code = 503
    default_message = "Invitations cannot be sent right now; try again in a minute."


def _read(upload: bytes, mode: str) -> tuple[str, list[Row]]:
    """The upload's text and rows. Raises ``services.InvalidInput`` for a bad file or mode."""
    if mode not in BulkEnrollment.Mode.values:
        raise services.InvalidInput("Choose enroll or unenroll.")
    if len(upload) > MAX_UPLOAD_BYTES:
        raise services.InvalidInput(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        source = upload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise services.InvalidInput("The file is not UTF-8 text; save it as CSV (UTF-8).") from exc
    if "\x00" in source:
        raise services.InvalidInput("The file is not a CSV text file.")
    try:
        rows = parse_rows(source)
    except csv.Error as exc:
        raise services.InvalidInput(f"The file is not a readable CSV: {exc}.") from exc
    if not rows:
        raise services.InvalidInput("The file has no email addresses.")
    if len(rows) > MAX_ROWS:
        raise services.InvalidInput(f"At most {MAX_ROWS:,} rows per file; split it.")
    return source, rows


def _addresses(rows: list[Row], report: dict[str, list[Any]], seen: dict[str, int]) -> list[tuple[Row, str]]:
    """The well-formed addresses not seen before (lower-cased); the others go to ``report``."""
    valid: list[tuple[Row, str]] = []
    for row in rows:
        address = row.text.lower()
        try:
            validate_email(address)
        except ValidationError:
            report["invalid"].append([row.line, row.text, "not an email address"])
            continue
        if address in seen:
            report["invalid"].append([row.line, row.text, f"repeats line {seen[address]}"])
            continue
        seen[address] = row.line
        valid.append((row, address))
    return valid


def _active_users(addresses: list[str]) -> dict[str, Any]:
    """{lower-cased email: active user} for these addresses (one query)."""
    users = get_user_model().objects.annotate(email_lower=Lower("email"))
    return {user.email_lower: user for user in users.filter(email_lower__in=addresses, is_active=True)}


def upload_plan(*, upload: bytes, mode: str = BulkEnrollment.Mode.ENROLL) -> UploadPlan:
    """Read an upload and count the invitations it would send (one query per ``CHUNK_ROWS``
    addresses). Raises ``services.InvalidInput`` (400) for a bad file or mode."""
    source, rows = _read(upload, mode)
    invitations = 0
    if mode == BulkEnrollment.Mode.ENROLL:
        addresses = [address for _row, address in _addresses(rows, _empty_report(), {})]
        for start in range(0, len(addresses), CHUNK_ROWS):
            chunk = addresses[start : start + CHUNK_ROWS]
            invitations += len(chunk) - len(_active_users(chunk))
    return UploadPlan(source=source, mode=mode, rows=len(rows), invitations=invitations)


def _invitation_limit(by: Any) -> ratelimit.Limit:
    return ratelimit.Limit("invitations", str(by.pk), ratelimit.Rate.parse(settings.RATELIMIT_INVITATIONS))


def bulk_enrollment_create(
    *,
    course: CoursePage,
    by: Any,
    upload: bytes,
    mode: str = BulkEnrollment.Mode.ENROLL,
    confirmed_invitations: int | None = None,
    cohort: Any = None,
) -> BulkEnrollment:
    """Store an upload and queue its task, or store nothing and raise:

    ``services.Forbidden`` (403) without the permission to manage enrollments;
    ``services.InvalidInput`` (400) for a file that is too large, not UTF-8 text, empty or longer
    than ``MAX_ROWS`` rows, an unknown mode, or more invitations than ``RATELIMIT_INVITATIONS``
    ever allows at once; ``ConfirmationNeeded`` (409) when it sends more than
    ``BULK_INVITATIONS_CONFIRM_ABOVE`` invitations and ``confirmed_invitations`` (the number its
    uploader saw and confirmed) is smaller; ``InvitationsLimited`` (429) when the uploader's
    recent invitations leave no room for all of this upload's (counted all at once, so an upload
    is never half sent); ``InvitationsUnavailable`` (503) when the limiter is down.
    Enrolled learners go to ``cohort`` or their row's cohort (see the module docstring): a
    cohort of another course, or an unknown name, is a 400; one ``by`` does not manage a 403.
    """
    from learning.cohorts import placement_cohort

    services._require_manager(by)
    plan = upload_plan(upload=upload, mode=mode)
    chosen = None
    if mode == BulkEnrollment.Mode.ENROLL:
        chosen = placement_cohort(course=course, by=by, cohort=cohort) if cohort is not None else None
        _named_cohorts(course=course, by=by, rows=parse_rows(plan.source))
    if plan.invitations:
        limit = _invitation_limit(by)
        per = ratelimit.wait_text(limit.rate.window)
        if plan.invitations > limit.rate.limit:
            raise services.InvalidInput(f"At most {limit.rate.limit} invitations in {per}; split the file.")
        if plan.invitations > settings.BULK_INVITATIONS_CONFIRM_ABOVE and (
            confirmed_invitations is None or plan.invitations > confirmed_invitations
        ):
            raise ConfirmationNeeded(plan)
        invitations_reserve(by=by, count=plan.invitations, what="This upload", fewer="upload fewer addresses")
    with transaction.atomic():
        job = BulkEnrollment.objects.create(
            course=course, created_by=by, mode=mode, source=plan.source, total_rows=plan.rows, cohort=chosen
        )
        enqueue("learning.tasks.run_bulk_enrollment", job_id=job.pk)
    return job


def invitations_reserve(*, by: Any, count: int, what: str = "This request", fewer: str = "send fewer") -> None:
    """Count ``count`` invitations of ``by`` at once in ``RATELIMIT_INVITATIONS`` (all or none,
    so a batch is never half sent): the one limit of invitation emails, for bulk uploads and the
    staff API alike. Raises ``InvitationsLimited`` (429) when ``by``'s recent invitations leave
    no room for all of them and ``InvitationsUnavailable`` (503) when the limiter is down."""
    limit = _invitation_limit(by)
    per = ratelimit.wait_text(limit.rate.window)
    room = ratelimit.room(limit)
    decision = ratelimit.check([limit], door="invitations", cost=count)
    if decision.unavailable and not decision.allowed:
        raise InvitationsUnavailable()
    if not decision.allowed:
        left = f"you may send {room} more now" if room is not None else "you sent many recently"
        raise InvitationsLimited(
            f"{what} would send {count} invitations; {left} (at most {limit.rate.limit} "
            f"in {per}). Try again in {ratelimit.wait_text(decision.retry_after)}, or {fewer}.",
            retry_after=decision.retry_after,
        )


def invitation_send(*, email: str, course: CoursePage, by: Any) -> Invitation:
    """Invite one address that no learner uses to ``course`` (the learner list's "Enroll a
    learner" with an unknown email): the same invitation and sign-up email as a bulk upload's
    unknown addresses (``invitation_create``), counted against the same ``RATELIMIT_INVITATIONS``.

    Raises ``Forbidden`` (403: no permission, or not a course whose learners ``by`` may manage),
    ``CourseNotAvailable`` (404: an unpublished course), ``InvalidInput`` (400: not an email
    address), ``Conflict`` (409: an active learner has it; enroll them instead),
    ``InvitationsLimited`` (429) and ``InvitationsUnavailable`` (503). Idempotent per address.
    """
    services._require_manager(by)
    live = services._live_course(course)
    services._require_course_manager(live, by=by)
    address = (email or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise services.InvalidInput(f"“{email}” is not an email address.") from exc
    if _active_users([address]):
        raise services.Conflict("A learner already uses that address; enroll them by it.")
    invitations_reserve(by=by, count=1, what="This invitation", fewer="ask another staff member")
    return invitation_create(email=address, course=live, by=by)


def _empty_report() -> dict[str, list[Any]]:
    return {"added": [], "already": [], "invited": [], "removed": [], "not_enrolled": [], "invalid": []}


def bulk_enrollment_run(*, job_id: int) -> BulkEnrollment | None:
    """Work through a stored upload (see the module docstring). None when the job is gone."""
    job = BulkEnrollment.objects.select_related("course", "created_by", "cohort").filter(pk=job_id).first()
    if job is None or job.status == BulkEnrollment.Status.DONE:
        return job
    by = job.created_by
    rows = parse_rows(job.source)
    report = _empty_report()
    seen: dict[str, int] = {}
    named = {cohort.name: cohort for cohort in Cohort.objects.filter(course_id=job.course_id)}
    BulkEnrollment.objects.filter(pk=job.pk).update(status=BulkEnrollment.Status.RUNNING, processed_rows=0)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        valid = _addresses(chunk, report, seen)
        found = _active_users([address for _row, address in valid])
        for row, address in valid:
            _one(job, by, row, address, found.get(address), report, named)
        BulkEnrollment.objects.filter(pk=job.pk).update(processed_rows=min(start + len(chunk), len(rows)), report=report)
    BulkEnrollment.objects.filter(pk=job.pk).update(
        status=BulkEnrollment.Status.DONE, processed_rows=len(rows), report=report, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _one(
    job: BulkEnrollment, by: Any, row: Row, address: str, user: Any, report: dict[str, list[Any]],
    named: dict[str, Cohort],
) -> None:
    """Enroll, unenroll or invite one address, recording the outcome in ``report``."""
    cohort = named.get(row.cohort) if row.cohort else job.cohort
    try:
        if row.cohort and cohort is None:
            raise services.InvalidInput(f"no cohort named “{row.cohort}” (deleted since the upload)")
        if job.mode == BulkEnrollment.Mode.UNENROLL:
            enrollment = Enrollment.objects.filter(user=user, course_id=job.course_id).first() if user else None
            if enrollment is None or enrollment.status == Enrollment.Status.CANCELLED:
                report["not_enrolled"].append(address)
                return
            services.enrollment_cancel(enrollment=enrollment.pk, by=by, as_staff=True)
            report["removed"].append(address)
        elif user is None:
            invitation_create(email=address, course=job.course, by=by, cohort=cohort)
            report["invited"].append(address)
        else:
            result = services.enrollment_add(user=user, course=job.course, by=by, cohort=cohort)
            report["added" if result.changed else "already"].append(address)
    except services.ServiceError as exc:
        report["invalid"].append([row.line, row.text, exc.message])


def invitation_create(*, email: str, course: CoursePage, by: Any, cohort: Cohort | None = None) -> Invitation:
    """An invitation of ``email`` to ``course`` (one per address and course) and its email,
    queued after commit, placing the learner in ``cohort`` on sign-up (None: the default).
    Idempotent: inviting again keeps the first token (and takes the latest cohort)."""
    with transaction.atomic():
        invitation = Invitation.objects.filter(email=email, course=course).first()
        if invitation is None:
            try:
                with transaction.atomic():
                    invitation = Invitation.objects.create(
                        email=email, course=course, invited_by=by, token=secrets.token_urlsafe(32), cohort=cohort
                    )
            except IntegrityError:
                invitation = Invitation.objects.get(email=email, course=course)
        if cohort is not None and invitation.cohort_id != cohort.pk and invitation.accepted_at is None:
            Invitation.objects.filter(pk=invitation.pk).update(cohort=cohort)
            invitation.cohort = cohort
        if invitation.accepted_at is None:
            enqueue("learning.tasks.send_invitation_email", invitation_id=invitation.pk)
    return invitation


def invitation_accept(*, user: Any, token: str) -> Enrollment | None:
    """Enroll ``user`` through the invitation with ``token`` when its address is the user's.

    The enrollment is the inviting staff member's decision (``services.enrollment_add`` with
    them as ``by``), so it is audited under their name; an invitation whose inviter may no
    longer manage enrollments, or for a course no longer published, enrolls nobody."""
    invitation = Invitation.objects.select_related("course", "invited_by").filter(token=token or "-").first()
    if invitation is None or invitation.email.lower() != (user.email or "").lower() or invitation.invited_by is None:
        return None
    try:
        result = services.enrollment_add(
            user=user, course=invitation.course, by=invitation.invited_by, cohort=invitation.cohort_id
        )
    except services.ServiceError as exc:
        logger.info("invitation %s not honoured: %s", invitation.pk, exc.message)
        return None
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(accepted_at=timezone.now(), accepted_by=user)
    return result.enrollment
