"""The certificates API under ``/api/v1/p/certificates/``: a learner's certificates (an app
lists them and links the PDF), and the public verification of a code (what the verify page
says, as JSON, under the same per-address limit).

Like the pages, both keep answering while the plugin is switched off: switching it off stops
issuing, not what was issued.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from academy.sdk import AbsoluteUrlField, ApiView, check_limits, serves_when_switched_off
from plugins.certificates import services
from plugins.certificates.models import CODE_LENGTH, Certificate
from plugins.certificates.views import VERIFY_DOOR, VERIFY_FIELDS, verify_limit, wanted_code

# What a code looks like (base32, any case); anything else is simply not found.
CODE_PATTERN = rf"^[A-Za-z2-7]{{{CODE_LENGTH}}}$"


class CertificateSerializer(serializers.Serializer):
    """One of the caller's certificates. ``download_url`` is null while the PDF is being made
    (or once revoked)."""

    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Certificate.Status.choices)
    course_id = serializers.IntegerField()
    course_title = serializers.CharField()
    learner_name = serializers.CharField()
    completed_on = serializers.DateField()
    issued_at = serializers.DateTimeField()
    verify_url = AbsoluteUrlField()
    download_url = AbsoluteUrlField(allow_null=True)


class VerificationSerializer(serializers.Serializer):
    """What anyone holding the code may know: valid or revoked, the name, course and date."""

    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Certificate.Status.choices)
    learner_name = serializers.CharField()
    course_title = serializers.CharField()
    completed_on = serializers.DateField()


def _certificate_data(certificate: Certificate) -> dict[str, Any]:
    ready = certificate.is_valid and certificate.is_ready
    return {
        "code": certificate.code, "status": certificate.status, "course_id": certificate.course_id,
        "course_title": certificate.course_title, "learner_name": certificate.learner_name,
        "completed_on": certificate.completed_on, "issued_at": certificate.issued_at,
        "verify_url": services.verify_path(certificate.code),
        "download_url": services.download_path(certificate.code) if ready else None,
    }


class CertificateListView(ApiView):
    cursor_ordering = "-pk"

    @extend_schema(operation_id="certificates_list", responses=CertificateSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The caller's certificates, newest first."""
        rows = Certificate.objects.filter(user_id=request.user.pk)
        page = [_certificate_data(certificate) for certificate in self.page_of(rows)]
        return self.get_paginated_response(CertificateSerializer(page, many=True, context={"request": request}).data)


class VerifyView(ApiView):
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []  # the verify door's own per-address limit applies instead

    @extend_schema(
        operation_id="certificates_verify", responses=VerificationSerializer, auth=[],
        parameters=[OpenApiParameter(
            "code", str, OpenApiParameter.PATH, required=True, pattern=CODE_PATTERN,
            description="The code printed on the certificate (any case).",
        )],
    )
    def get(self, request: Request, code: str) -> Response:
        """Whether a certificate code is genuine: 404 ``not_found`` when no certificate has it,
        429 past the per-address limit of look-ups."""
        decision = check_limits([verify_limit(request._request)], door=VERIFY_DOOR)
        if not decision.allowed:
            raise Throttled(wait=decision.retry_after, detail="Too many certificate look-ups from your network.")
        certificate = Certificate.objects.filter(code=wanted_code(code)).only(*VERIFY_FIELDS).first()
        if certificate is None:
            raise NotFound("No certificate has this code.")
        response = Response(VerificationSerializer(certificate).data)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"
        return response


urlpatterns = [
    path("", serves_when_switched_off(CertificateListView.as_view()), name="list"),
    path("verify/<str:code>/", serves_when_switched_off(VerifyView.as_view()), name="verify"),
]
