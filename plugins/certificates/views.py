"""The learner's and the public's pages: verify (public), download (the owner, and staff of the
certificate's course by the staff rule), and the "name on certificates" account setting.

A certificate once issued stays verifiable and its PDF downloadable while the plugin is switched
off (site-wide or for the course): switching off stops issuing, not what was issued.

Verify: every request is counted against its client address first (``ACADEMY_LIMIT_CERTIFICATE_VERIFY``,
429 past it; fails open when the limiter's store is down: the codes themselves are the
protection), then looks the code up with one indexed query whatever it looks like, so a known
and an unknown code take the same path up to the template; an unknown code is a plain 404. The
page shows the status, the chosen name, the course and the date, nothing else; it is never
cached and asks browsers to send no Referer (the code is in the URL) and robots not to index it.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_safe

from academy.sdk import (
    Limit,
    Rate,
    ServiceError,
    check_limits,
    client_address,
    refusal_response,
    register_door,
    safe_next_url,
    serves_when_switched_off,
)
from plugins.certificates import conf, services
from plugins.certificates.models import CODE_LENGTH, Certificate, CertificateName

VERIFY_DOOR = "certificate_verify"
VERIFY_RULE = "certificate_verify_address"
register_door(VERIFY_DOOR, fail_open=True)
# What a code may look like (any case); anything else is looked up as "" (which matches no
# certificate), so a malformed code takes the same path as an unknown one and never reaches the
# database as it is (PostgreSQL refuses a NUL byte in text).
CODE_INPUT = re.compile(rf"[a-z2-7]{{1,{CODE_LENGTH * 2}}}")
VERIFY_FIELDS = ("code", "status", "learner_name", "course_title", "completed_on")


def wanted_code(code: str) -> str:
    """The code to look up: lower case if it looks like a code, else "" (matches nothing)."""
    candidate = code.strip().lower()
    return candidate if CODE_INPUT.fullmatch(candidate) else ""


def verify_limit(request: HttpRequest) -> Limit:
    """The per-address limit of certificate look-ups (the page and the API share it)."""
    return Limit(VERIFY_RULE, client_address(request), Rate.parse(conf.verify_rate()))


@serves_when_switched_off
@require_safe
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """``/certificates/<code>/``: valid or revoked, the learner's chosen name, course, date."""
    decision = check_limits([verify_limit(request)], door=VERIFY_DOOR)
    if not decision.allowed:
        return refusal_response(request, decision, message="Too many certificate look-ups from your network.")
    certificate = Certificate.objects.filter(code=wanted_code(code)).only(*VERIFY_FIELDS).first()
    # Found or not, the same template renders the answer (a 404 says only that no certificate has
    # this code), so both take the same path.
    status = 200 if certificate is not None else 404
    response = render(request, "certificates/verify.html", {"certificate": certificate}, status=status)
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@serves_when_switched_off
@require_safe
@login_required
def download(request: HttpRequest, code: str) -> HttpResponse:
    """The PDF, for its owner (while valid) and for staff who may see the certificates of its
    course (``services.staff_may_see``, even revoked); everyone else gets a 404."""
    certificate = Certificate.objects.filter(code=wanted_code(code)).first()
    user = request.user
    is_owner = certificate is not None and certificate.user_id == user.pk
    is_course_staff = (
        certificate is not None and not is_owner and services.staff_may_see(user, certificate.course)
    )
    if certificate is None or not (is_owner or is_course_staff):
        raise Http404("No certificate of yours has this code.")
    if not certificate.is_valid and not is_course_staff:
        return render(request, "certificates/revoked.html", {"certificate": certificate}, status=403)
    content = services.certificate_pdf(certificate)
    if content is None:
        raise Http404("This certificate is still being prepared.")
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"certificate-{slugify(certificate.course_title)[:60] or 'course'}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def name_setting(request: HttpRequest) -> HttpResponse:
    """The account setting "name on certificates" (blank: full name, else username)."""
    user = request.user
    chosen = CertificateName.objects.filter(user_id=user.pk).values_list("name", flat=True).first() or ""
    error = ""
    status = 200
    if request.method == "POST":
        value = request.POST.get("name", "")
        try:
            in_force = services.certificate_name_set(user=user, name=value)
        except ServiceError as exc:
            error, status, chosen = exc.message, exc.status_code, value
        else:
            messages.success(request, f"Your certificates will show the name “{in_force}”.")
            return redirect(safe_next_url(request, request.path))
    context = {
        "chosen": chosen,
        "default_name": services.default_name(user),
        "error": error,
        "max_length": services.NAME_MAX_LENGTH,
        "next": safe_next_url(request, ""),
    }
    return render(request, "certificates/name.html", context, status=status)
