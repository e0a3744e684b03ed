"""The learner's certificate on the course page (``course.sidebar``) and on each dashboard card
(``dashboard.card``), and the "name on certificates" setting on the dashboard (``dashboard.side``).

One query per slot and page, however many cards: ``prepare`` loads the viewer's certificates
for the batch's courses. Each fragment is a container ``[data-certificate][data-course-id]``
that ``certificates/live.js`` fills in when the certificate is issued or revoked (the
``certificates.issued`` / ``certificates.revoked`` frames on the learner's progress stream),
so the download link appears without a reload.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from academy.sdk import Enrollment, SlotFragment, has_access_status, is_active
from plugins.certificates import services
from plugins.certificates.models import Certificate

LABEL = "certificates"
SLOT_FIELDS = ("course_id", "code", "status", "revision", "rendered_revision")
_SCRIPT_FLAG = "_certificates_script_included"


def _viewer(request: HttpRequest | None) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _include_script(request: HttpRequest | None) -> bool:
    """True for the first fragment of a page (the script tag is needed once)."""
    if request is None or getattr(request, _SCRIPT_FLAG, False):
        return False
    setattr(request, _SCRIPT_FLAG, True)
    return True


def _certificates(user: Any, course_ids: list[int]) -> dict[int, Certificate]:
    rows = Certificate.objects.filter(user_id=user.pk, course_id__in=course_ids).only(*SLOT_FIELDS)
    return {row.course_id: row for row in rows}


class CourseCertificate(SlotFragment):
    """Course page: the viewer's certificate for this course (an empty container until it exists)."""

    slot = "course.sidebar"
    template_name = "certificates/slots/certificate.html"
    query_budget = 1

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> dict[int, Certificate]:
        """The viewer's certificates for the courses shown (one query)."""
        user = _viewer(request)
        course_ids = [target.pk for target in targets if target is not None]
        return _certificates(user, course_ids) if user is not None and course_ids else {}

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Nothing for visitors (the anonymous page stays shareable)."""
        if _viewer(request) is None or target is None:
            return None
        return {
            "certificate": prepared.get(target.pk),
            "course_id": target.pk,
            "completed": False,
            "include_script": _include_script(request),
        }


class DashboardCardCertificate(SlotFragment):
    """Dashboard: each enrolled course's certificate, or "being prepared" once it is completed."""

    slot = "dashboard.card"
    template_name = "certificates/slots/certificate.html"
    query_budget = 1

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> dict[int, Certificate]:
        """The viewer's certificates for every card of the page (one query)."""
        user = _viewer(request)
        course_ids = [getattr(target, "enrollment", target).course_id for target in targets if target is not None]
        return _certificates(user, course_ids) if user is not None and course_ids else {}

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Only where certificates are on for the card's course, and the learner has or may earn one."""
        if _viewer(request) is None or target is None:
            return None
        enrollment = getattr(target, "enrollment", target)
        if not is_active(LABEL, course_id=enrollment.course_id):
            return None
        certificate = prepared.get(enrollment.course_id)
        if certificate is None and not has_access_status(enrollment.status):
            return None
        return {
            "certificate": certificate,
            "course_id": enrollment.course_id,
            "completed": enrollment.status == Enrollment.Status.COMPLETED,
            "include_script": _include_script(request),
        }


class DashboardCertificateName(SlotFragment):
    """Dashboard side column: the name printed on certificates, and where to change it."""

    slot = "dashboard.side"
    template_name = "certificates/slots/side.html"
    query_budget = 1

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> str | None:
        """The name in force for the viewer (one query)."""
        user = _viewer(request)
        return services.name_on_certificates(user) if user is not None else None

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """Nothing for visitors."""
        if prepared is None:
            return None
        return {"name_in_force": prepared}
