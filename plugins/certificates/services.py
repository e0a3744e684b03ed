"""The only code that writes certificates, their PDFs and the learner's name on them.

Guarantees:
- **One certificate per learner and course, ever** (a database constraint): issuing twice, or
  two copies of the task at once, leaves one row; the loser of the insert race reads the winner's.
- **The code never changes.** It is drawn once (160 random bits) when the row is created; a
  reissue takes a new snapshot and bumps ``revision``, keeping the code and the verify URL.
- **Killed mid-render leaves nothing half-written.** The PDF is rendered outside any
  transaction, then stored in one transaction together with ``rendered_revision`` (under the
  certificate's row lock), so a worker that dies before that commit leaves the certificate
  "being prepared" and the next run (the broker's re-delivery, the ``render_pending_certificates``
  schedule) renders it again. Rendering is deterministic, so a second copy stores the same bytes.
- **Announced once.** The live push (``certificates.issued``), the learner's notification and
  the domain event ``certificates_issued`` (``plugins.certificates.events``) go
  out in the transaction that flips the revision to ready, so exactly one copy of the task sends
  them (after commit, like every side effect here).
- Staff actions (revoke with a reason, reissue) need ``certificates.change_certificate`` and,
  like every staff door of the plugin, the access policy's staff rule for the certificate's course
  (:func:`staff_may_see`: a Wagtail page permission on the course or above it; superusers pass);
  they are written to Wagtail's audit log and notify the learner.

Errors are ``learning.services`` ServiceErrors (400 / 403 / 404 / 409), nothing written.
"""

from __future__ import annotations

import base64
import logging
import secrets
import unicodedata
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from wagtail.log_actions import log

from academy.sdk import (
    Conflict,
    CoursePage,
    Enrollment,
    Forbidden,
    InvalidInput,
    NotFound,
    Notification,
    absolute_url,
    course_grade_of,
    enqueue,
    may_see_learners,
    notification_create,
    publish,
    user_progress_group,
    viewer,
)
from plugins.certificates import conf
from plugins.certificates.events import CertificateIssuedPayload, certificate_issued
from plugins.certificates.models import (
    CODE_LENGTH,
    NAME_MAX_LENGTH,
    Certificate,
    CertificateName,
    CertificatePdf,
    CourseCertificateSettings,
)
from plugins.certificates.pdf import CertificateContent, render_pdf

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "certificates.view_certificate"
MANAGE_PERMISSION = "certificates.change_certificate"
# Staff reach the certificates of a course (admin list and page, PDF download, revoke, reissue)
# with either permission and the staff rule for that course (``staff_may_see``).
CERTIFICATE_PERMISSIONS = (VIEW_PERMISSION, MANAGE_PERMISSION)
REASON_MAX_LENGTH = 1000
AUDIT_ACTIONS = {
    "certificates.revoke": ("Revoke certificate", "Revoked the certificate"),
    "certificates.reissue": ("Reissue certificate", "Reissued the certificate"),
}
RENDER_TASK = "plugins.certificates.tasks.render_certificate"
_NOTIFICATION_TITLE_MAX = Notification._meta.get_field("title").max_length


class CertificateLiveData(TypedDict):
    """certificates.issued / certificates.revoked on the learner's progress stream."""

    course_id: int
    status: str
    ready: bool
    download_url: str
    verify_url: str


# --- Codes and addresses -----------------------------------------------------------------------


def new_code() -> str:
    """A fresh verification code: 20 random bytes as 32 lowercase base32 characters."""
    code = base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()
    assert len(code) == CODE_LENGTH
    return code


def verify_path(code: str) -> str:
    """The public verify page of a code: ``/certificates/<code>/``."""
    return reverse("certificates-root:verify", args=[code])


def verify_url(code: str) -> str:
    """The verify page as an absolute URL on the public host (printed and in the QR code)."""
    return absolute_url(verify_path(code))


def download_path(code: str) -> str:
    """Where the owner and staff download the PDF."""
    return reverse("certificates:download", args=[code])


# --- The learner's name on certificates --------------------------------------------------------


def default_name(user: Any) -> str:
    """The name used when the learner chose none: their full name, else their username."""
    return (user.get_full_name() or "").strip() or user.get_username()


def name_on_certificates(user: Any) -> str:
    """The name printed on ``user``'s certificates (their choice, else :func:`default_name`)."""
    chosen = CertificateName.objects.filter(user_id=user.pk).values_list("name", flat=True).first()
    return chosen or default_name(user)


def clean_name(name: Any) -> str:
    """``name`` with whitespace collapsed; raises InvalidInput for control characters or a name
    longer than the certificate holds."""
    if not isinstance(name, str):
        raise InvalidInput("The name must be text.")
    cleaned = " ".join(name.split())
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidInput("The name contains characters that cannot be printed.")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise InvalidInput(f"The name can be at most {NAME_MAX_LENGTH} characters long.")
    return cleaned


def certificate_name_set(*, user: Any, name: str) -> str:
    """Set the name on ``user``'s future certificates (blank: back to the default). Certificates
    already issued keep the name they were issued with until staff reissue them. Returns the
    name now in force."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Forbidden("Log in to choose the name on your certificates.")
    cleaned = clean_name(name)
    with transaction.atomic():
        if cleaned:
            CertificateName.objects.update_or_create(user_id=user.pk, defaults={"name": cleaned})
        else:
            CertificateName.objects.filter(user_id=user.pk).delete()
    return cleaned or default_name(user)


# --- Issuing and rendering ---------------------------------------------------------------------


def _snapshot(*, user: Any, course: CoursePage) -> dict[str, Any]:
    """What a certificate prints, taken now from the account, the course and its settings."""
    own = CourseCertificateSettings.objects.filter(course_id=course.pk).first()
    return {
        "learner_name": name_on_certificates(user),
        "course_title": Truncator(course.title).chars(Certificate._meta.get_field("course_title").max_length),
        "title_line": (own.title_line if own else "") or conf.DEFAULT_TITLE_LINE,
        "signature_name": own.signature_name if own else "",
        "issuer": settings.WAGTAIL_SITE_NAME,
    }


def requires_pass_grade(course_id: int) -> bool:
    """Whether ``course``'s certificates need its pass grade (its settings say so)."""
    return CourseCertificateSettings.objects.filter(course_id=course_id, require_pass_grade=True).exists()


def certificate_issue(*, user_id: int, course_id: int) -> Certificate | None:
    """The certificate of a learner who completed a course: created on the first call, the same
    row on every later one. None (nothing written) unless the enrollment is completed and, where
    the course's settings require its pass grade, the learner's course grade passes it
    (``course_grade_of``: a course that requires it but has no pass grade issues none).

    The PDF is rendered separately (:func:`certificate_render`)."""
    enrollment = (
        Enrollment.objects.select_related("user", "course")
        .filter(user_id=user_id, course_id=course_id, status=Enrollment.Status.COMPLETED)
        .first()
    )
    if enrollment is None:
        return None
    existing = Certificate.objects.filter(user_id=user_id, course_id=course_id).first()
    if existing is not None:
        return existing
    if requires_pass_grade(course_id) and not course_grade_of(user_id=user_id, course=enrollment.course).passed:
        return None
    completed_at = enrollment.completed_at or timezone.now()
    try:
        with transaction.atomic():
            return Certificate.objects.create(
                user_id=user_id,
                course_id=course_id,
                code=new_code(),
                completed_on=timezone.localdate(completed_at),
                **_snapshot(user=enrollment.user, course=enrollment.course),
            )
    except IntegrityError:
        # Another copy of the task created it first: one certificate, theirs.
        return Certificate.objects.get(user_id=user_id, course_id=course_id)


def certificate_content(certificate: Certificate) -> CertificateContent:
    """What the PDF of ``certificate`` says."""
    return CertificateContent(
        learner_name=certificate.learner_name,
        course_title=certificate.course_title,
        title_line=certificate.title_line,
        signature_name=certificate.signature_name,
        issuer=certificate.issuer,
        completed_on=certificate.completed_on,
        code=certificate.code,
        verify_url=verify_url(certificate.code),
    )


def live_data(certificate: Certificate) -> CertificateLiveData:
    """The frame data telling the learner's open pages about ``certificate``."""
    return CertificateLiveData(
        course_id=certificate.course_id,
        status=certificate.status,
        ready=certificate.is_ready,
        download_url=download_path(certificate.code),
        verify_url=verify_path(certificate.code),
    )


def _notify(certificate: Certificate, *, kind: str, title: str, body: str, link: str) -> None:
    user = get_user_model().objects.filter(pk=certificate.user_id, is_active=True).first()
    if user is None:
        return
    notification_create(
        user=user, kind=kind, title=Truncator(title).chars(_NOTIFICATION_TITLE_MAX), body=body, link=link
    )


def certificate_render(*, certificate_id: int) -> bool:
    """Render and store the PDF of the certificate's current revision, unless it is stored
    already. True when this call stored it (and announced it), False otherwise."""
    certificate = Certificate.objects.filter(pk=certificate_id).first()
    if certificate is None or certificate.is_ready:
        return False
    revision = certificate.revision
    content = render_pdf(certificate_content(certificate))
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().filter(pk=certificate_id).first()
        if locked is None or locked.revision != revision or locked.is_ready:
            # Deleted, reissued meanwhile (that revision's render follows) or stored by another copy.
            return False
        CertificatePdf.objects.update_or_create(
            certificate_id=locked.pk, defaults={"revision": revision, "content": content}
        )
        locked.rendered_revision = revision
        locked.save(update_fields=["rendered_revision", "updated_at"])
        publish(group=user_progress_group(locked.user_id), event_type="certificates.issued", data=live_data(locked))
        if revision == 1:
            title, body = f"Your certificate for {locked.course_title} is ready", "Download it, or share its verify link."
            certificate_issued.emit(
                CertificateIssuedPayload(
                    certificate_id=locked.pk, user_id=locked.user_id, course_id=locked.course_id, code=locked.code,
                    verify_url=verify_url(locked.code), issued_at=locked.issued_at.isoformat(),
                )
            )
        else:
            title, body = f"Your certificate for {locked.course_title} was reissued", "The verify link stays the same."
        _notify(locked, kind=Notification.Kind.COURSE_COMPLETED, title=title, body=body, link=download_path(locked.code))
    logger.info("certificate %s rendered (revision %s, %d bytes)", certificate_id, revision, len(content))
    return True


def certificate_pdf(certificate: Certificate) -> bytes | None:
    """The stored PDF of the certificate's current revision (None while it is being prepared)."""
    if not certificate.is_ready:
        return None
    content = (
        CertificatePdf.objects.filter(certificate_id=certificate.pk, revision=certificate.revision)
        .values_list("content", flat=True)
        .first()
    )
    return bytes(content) if content is not None else None


# --- Staff: revoke and reissue -----------------------------------------------------------------


def staff_may_see(user: Any, course: CoursePage) -> bool:
    """Whether ``user`` may see the certificates of ``course`` as staff: one of
    ``CERTIFICATE_PERMISSIONS`` and the access policy's staff rule for the course (a Wagtail page
    permission to edit it, on it or above it, and passing its view restrictions); superusers
    see all. Every staff door of the plugin asks here."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return may_see_learners(viewer(user), course, permissions=CERTIFICATE_PERMISSIONS)


def _require_manager(by: Any) -> None:
    if by is None or not getattr(by, "is_authenticated", False) or not by.has_perm(MANAGE_PERMISSION):
        raise Forbidden("You do not have permission to manage certificates.")


def _require_course(by: Any, certificate: Certificate) -> CoursePage:
    """The certificate's course, when ``by`` may manage its certificates (else Forbidden)."""
    course = CoursePage.objects.filter(pk=certificate.course_id).first()
    if course is None or not staff_may_see(by, course):
        raise Forbidden("You may not manage the certificates of this course.")
    return course


def _locked(certificate: Certificate | int) -> Certificate:
    certificate_id = getattr(certificate, "pk", certificate)
    locked = (
        Certificate.objects.select_for_update().filter(pk=certificate_id).first()
        if isinstance(certificate_id, int)
        else None
    )
    if locked is None:
        raise NotFound("This certificate does not exist.")
    return locked


def _audit(certificate: Certificate, action: str, *, by: Any, **data: Any) -> None:
    log(
        instance=certificate,
        action=action,
        user=by,
        title=f"{certificate.learner_name}: {certificate.course_title}"[:255],
        data={"certificate_id": certificate.pk, "learner_id": certificate.user_id,
              "course_id": certificate.course_id, "revision": certificate.revision, **data},
    )


def certificate_revoke(*, certificate: Certificate | int, by: Any, reason: str) -> Certificate:
    """Revoke a valid certificate with a reason: the verify page says "revoked" from now on, the
    learner can no longer download it, is notified (with the reason) and their open pages update.
    Raises Forbidden (no permission, or not a course of ``by``'s by the staff rule), NotFound,
    InvalidInput (no reason, or too long), Conflict (already revoked)."""
    _require_manager(by)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("Give the reason for revoking the certificate.")
    if any(unicodedata.category(ch) == "Cc" for ch in reason):
        raise InvalidInput("The reason contains characters that cannot be stored.")
    if len(reason) > REASON_MAX_LENGTH:
        raise InvalidInput(f"The reason can be at most {REASON_MAX_LENGTH} characters long.")
    with transaction.atomic():
        locked = _locked(certificate)
        _require_course(by, locked)
        if locked.status == Certificate.Status.REVOKED:
            raise Conflict("This certificate is already revoked.")
        locked.status = Certificate.Status.REVOKED
        locked.revoked_at = timezone.now()
        locked.revoked_reason = reason
        locked.revoked_by = by
        locked.save(update_fields=["status", "revoked_at", "revoked_reason", "revoked_by", "updated_at"])
        _audit(locked, "certificates.revoke", by=by, reason=reason)
        publish(group=user_progress_group(locked.user_id), event_type="certificates.revoked", data=live_data(locked))
        _notify(
            locked, kind=Notification.Kind.ANNOUNCEMENT,
            title=f"Your certificate for {locked.course_title} was revoked", body=f"Reason: {reason}",
            link=verify_path(locked.code),
        )
    return locked


def certificate_reissue(*, certificate: Certificate | int, by: Any) -> Certificate:
    """Reissue a certificate (valid or revoked): a new snapshot of the learner's chosen name, the
    course title and its certificate settings, valid again, same code. Its PDF is rendered by a
    task; the learner is notified when it is ready. Raises Forbidden (no permission, or not a course
    of ``by``'s by the staff rule), NotFound."""
    _require_manager(by)
    with transaction.atomic():
        locked = _locked(certificate)
        course = _require_course(by, locked)
        user = get_user_model().objects.get(pk=locked.user_id)
        previous = locked.status
        for field, value in _snapshot(user=user, course=course).items():
            setattr(locked, field, value)
        locked.status = Certificate.Status.VALID
        locked.revision += 1
        locked.reissued_at = timezone.now()
        locked.revoked_at, locked.revoked_reason, locked.revoked_by = None, "", None
        locked.save()
        _audit(locked, "certificates.reissue", by=by, from_status=previous)
        enqueue(RENDER_TASK, task_name=f"certificate {locked.pk} r{locked.revision}", certificate_id=locked.pk)
    return locked
