"""Wagtail admin views: the issued certificates (search, status), one certificate with its
history, and the staff actions revoke (with a reason) and reissue.

Listing and reading need ``certificates.view_certificate`` (or change); acting needs
``certificates.change_certificate`` (the services check it again, and the course too). Either
only reaches the certificates of the courses whose learners the access policy's staff rule lets
the user see with one of those permissions (``services.staff_may_see``, and
``staff_course_filter`` for the list: a Wagtail page permission on the course or above
it; superusers see all): the list leaves the others out, and a certificate of another course is
refused (403, as the core's staff tools refuse another course; 404 when there is no
such certificate). Actions are POST only; a refused or invalid one shows its message and changes
nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from wagtail.models import ModelLogEntry

from academy.sdk import ServiceError, staff_course_filter, viewer
from plugins.certificates import services
from plugins.certificates.models import Certificate

# Who lists and reads certificates (of the courses the staff rule gives them): either permission.
CERTIFICATE_PERMISSIONS = services.CERTIFICATE_PERMISSIONS
PAGE_SIZE = 50
SEARCH_MAX = 200


def can_view(user: Any) -> bool:
    """Whether ``user`` may list and read certificates in the admin (of their courses)."""
    return any(user.has_perm(permission) for permission in CERTIFICATE_PERMISSIONS)


def can_manage(user: Any) -> bool:
    """Whether ``user`` may revoke and reissue certificates."""
    return bool(user.has_perm(services.MANAGE_PERMISSION))


def _require_view(request: HttpRequest) -> None:
    if not can_view(request.user):
        raise PermissionDenied


def _certificate(request: HttpRequest, pk: int) -> Certificate:
    """The certificate, if its course is one whose certificates ``request.user`` may see."""
    certificate = Certificate.objects.select_related("user", "revoked_by", "course").filter(pk=pk).first()
    if certificate is None:
        raise Http404("No such certificate.")
    if not services.staff_may_see(request.user, certificate.course):
        raise PermissionDenied("You may not see the certificates of this course.")
    return certificate


def index(request: HttpRequest) -> HttpResponse:
    """The certificates of the user's courses, newest first; search by code, name, username,
    email or course."""
    _require_view(request)
    # No NUL bytes: PostgreSQL refuses them in text.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX]
    status = request.GET.get("status", "")
    mine = staff_course_filter(viewer(request.user), permissions=CERTIFICATE_PERMISSIONS)
    rows = Certificate.objects.select_related("user").filter(mine).order_by("-issued_at", "-pk")
    if query:
        rows = rows.filter(
            Q(code=query.lower()) | Q(learner_name__icontains=query) | Q(course_title__icontains=query)
            | Q(user__username__icontains=query) | Q(user__email__iexact=query)
        )
    if status in Certificate.Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("p"))
    return render(request, "certificates/admin/index.html", {
        "page": page, "query": query, "status": status, "statuses": Certificate.Status.choices,
    })


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One certificate: what it says, its state, its history, and the staff actions."""
    _require_view(request)
    certificate = _certificate(request, pk)
    history = ModelLogEntry.objects.for_instance(certificate).select_related("user").order_by("-timestamp")[:50]
    return render(request, "certificates/admin/detail.html", {
        "certificate": certificate,
        "history": history,
        "can_manage": can_manage(request.user),
        "verify_url": services.verify_url(certificate.code),
        "download_url": services.download_path(certificate.code),
        "reason_max": services.REASON_MAX_LENGTH,
    })


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _require_view(request)
    certificate = _certificate(request, pk)
    try:
        if action == "revoke":
            services.certificate_revoke(certificate=certificate, by=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, f"The certificate of {certificate.learner_name} is revoked; they were notified.")
        else:
            services.certificate_reissue(certificate=certificate, by=request.user)
            messages.success(request, f"The certificate of {certificate.learner_name} is reissued (same code); its PDF is being rendered.")
    except ServiceError as exc:
        messages.error(request, exc.message)
        if exc.status_code == 403:
            raise PermissionDenied(exc.message) from exc
    return redirect(reverse("certificates_admin:detail", args=[certificate.pk]))


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: revoke with the posted ``reason``."""
    return _act(request, pk, "revoke")


@require_POST
def reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: reissue (new snapshot, same code)."""
    return _act(request, pk, "reissue")
