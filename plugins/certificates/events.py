"""The certificates plugin's own domain event (definitions only)."""

from __future__ import annotations

from typing import TypedDict

from academy.sdk import Event


class CertificateIssuedPayload(TypedDict):
    """certificates_issued: a learner's certificate for a course is ready (its first PDF is
    stored); sent once per certificate. ``verify_url`` is absolute."""

    certificate_id: int
    user_id: int
    course_id: int
    code: str
    verify_url: str
    issued_at: str


certificate_issued = Event("certificates_issued", CertificateIssuedPayload)
