"""Bulk enrollment from a CSV of email addresses, and invitations for unknown addresses.

``bulk_enrollment_create`` checks and stores an upload (a ``BulkEnrollment`` row) and queues
``learning.tasks.run_bulk_enrollment``; the task calls ``bulk_enrollment_run``, which works
through the rows in chunks (``processed_rows`` is the progress bar) and, for each address:

- an existing user: ``services.enrollment_add`` (or ``enrollment_cancel`` when unenrolling),
  so every enrollment is audited, the learner is notified and events are sent as usual;
- an unknown address (enrolling only): an ``Invitation`` and an email with a sign-up link;
  signing up through it with that address enrolls the new learner (``invitation_accept``);
- a malformed address or a repeated one: listed as invalid with its line number.

Safe to run twice: a finished job is not run again, and every step is idempotent.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from academy.tasks import enqueue
from courses.models import CoursePage
from learning import services
from learning.models import BulkEnrollment, Enrollment, Invitation

logger = logging.getLogger(__name__)

# The largest upload accepted (bytes) and the most rows in it.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
# Rows handled per step of the task (one progress update each).
CHUNK_ROWS = 200
# A header cell naming the email column (the first column is used either way).
EMAIL_HEADERS = {"email", "e-mail", "email address"}


@dataclass(frozen=True)
class Row:
    """One line of the upload: its number in the file and the address as written."""

    line: int
    text: str


def parse_rows(source: str) -> list[Row]:
    """The non-empty lines of a CSV (first column), a header line left out."""
    rows: list[Row] = []
    for number, cells in enumerate(csv.reader(io.StringIO(source)), 1):
        text = (cells[0] if cells else "").strip()
        if not text or (number == 1 and text.lower() in EMAIL_HEADERS):
            continue
        rows.append(Row(line=number, text=text))
    return rows


def bulk_enrollment_create(*, course: CoursePage, by: Any, upload: bytes, mode: str = BulkEnrollment.Mode.ENROLL) -> BulkEnrollment:
    """Store an upload and queue its task. Raises ``services.InvalidInput`` (400) for a file
    that is too large, not UTF-8 text, empty or longer than ``MAX_ROWS`` rows, or an unknown
    mode, and ``services.Forbidden`` (403) without the permission to manage enrollments."""
    services._require_manager(by)
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
    with transaction.atomic():
        job = BulkEnrollment.objects.create(course=course, created_by=by, mode=mode, source=source, total_rows=len(rows))
        enqueue("learning.tasks.run_bulk_enrollment", job_id=job.pk)
    return job


def _empty_report() -> dict[str, list[Any]]:
    return {"added": [], "already": [], "invited": [], "removed": [], "not_enrolled": [], "invalid": []}


def bulk_enrollment_run(*, job_id: int) -> BulkEnrollment | None:
    """Work through a stored upload (see the module docstring). None when the job is gone."""
    job = BulkEnrollment.objects.select_related("course", "created_by").filter(pk=job_id).first()
    if job is None or job.status == BulkEnrollment.Status.DONE:
        return job
    by = job.created_by
    rows = parse_rows(job.source)
    report = _empty_report()
    seen: dict[str, int] = {}
    BulkEnrollment.objects.filter(pk=job.pk).update(status=BulkEnrollment.Status.RUNNING, processed_rows=0)
    users = get_user_model().objects
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        valid: list[tuple[Row, str]] = []
        for row in chunk:
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
        addresses = [address for _row, address in valid]
        found = {
            user.email_lower: user
            for user in users.annotate(email_lower=Lower("email")).filter(email_lower__in=addresses, is_active=True)
        }
        for row, address in valid:
            _one(job, by, row, address, found.get(address), report)
        BulkEnrollment.objects.filter(pk=job.pk).update(processed_rows=min(start + len(chunk), len(rows)), report=report)
    BulkEnrollment.objects.filter(pk=job.pk).update(
        status=BulkEnrollment.Status.DONE, processed_rows=len(rows), report=report, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _one(job: BulkEnrollment, by: Any, row: Row, address: str, user: Any, report: dict[str, list[Any]]) -> None:
    """Enroll, unenroll or invite one address, recording the outcome in ``report``."""
    try:
        if job.mode == BulkEnrollment.Mode.UNENROLL:
            enrollment = Enrollment.objects.filter(user=user, course_id=job.course_id).first() if user else None
            if enrollment is None or enrollment.status == Enrollment.Status.CANCELLED:
                report["not_enrolled"].append(address)
                return
            services.enrollment_cancel(enrollment=enrollment.pk, by=by, as_staff=True)
            report["removed"].append(address)
        elif user is None:
            invitation_create(email=address, course=job.course, by=by)
            report["invited"].append(address)
        else:
            result = services.enrollment_add(user=user, course=job.course, by=by)
            report["added" if result.changed else "already"].append(address)
    except services.ServiceError as exc:
        report["invalid"].append([row.line, row.text, exc.message])


def invitation_create(*, email: str, course: CoursePage, by: Any) -> Invitation:
    """An invitation of ``email`` to ``course`` (one per address and course) and its email,
    queued after commit. Idempotent: inviting again keeps the first token."""
    with transaction.atomic():
        invitation = Invitation.objects.filter(email=email, course=course).first()
        if invitation is None:
            try:
                with transaction.atomic():
                    invitation = Invitation.objects.create(
                        email=email, course=course, invited_by=by, token=secrets.token_urlsafe(32)
                    )
            except IntegrityError:
                invitation = Invitation.objects.get(email=email, course=course)
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
        result = services.enrollment_add(user=user, course=invitation.course, by=invitation.invited_by)
    except services.ServiceError as exc:
        logger.info("invitation %s not honoured: %s", invitation.pk, exc.message)
        return None
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(accepted_at=timezone.now(), accepted_by=user)
    return result.enrollment
