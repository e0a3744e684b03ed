"""One JSON error contract for the whole API: ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) turns every error a view can
raise into that shape with the right status: the services' ``ServiceError`` (their status and
a code named after the error class, e.g. ``not_enrolled``; one that carries ``retry_after``, a
service's own rate limit, with ``Retry-After`` like a throttle's 429), DRF's own (validation 400,
authentication 401, permission 403, 404, 405, 415, throttling 429 with ``Retry-After``) and
Django's ``Http404`` / ``PermissionDenied``. ``code`` is stable and machine-readable,
``message`` is for people, ``fields`` maps input fields to their problems (empty otherwise).

Anything else is a bug: a 500 ``server_error`` in the same shape (never Django's HTML page, never
the exception's text), reported exactly as Django reports any 500: ``got_request_exception`` is
sent (Sentry's Django integration and the test client listen there), the transaction of an
atomic request is rolled back, and ``django.request`` logs "Internal Server Error" with the
traceback.
"""

from __future__ import annotations

import re
from typing import Any

from django.core import signals
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from academy.idempotency import IdempotencyError
from learning.services import RateLimited, ServiceError

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")
VALIDATION_MESSAGE = "The request is not valid."
SERVER_ERROR_STATUS = 500
SERVER_ERROR_MESSAGE = "Something went wrong on our side. It has been reported; please try again later."


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The body of every API error."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def service_error_code(exc: ServiceError) -> str:
    """``CourseNotAvailable`` -> ``course_not_available``."""
    return _CAMEL_BOUNDARY.sub("_", type(exc).__name__).lower()


def _flatten(detail: Any) -> list[str]:
    """Messages of one field, nested lists and dicts (list items) flattened with their path."""
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item)]
    return [str(detail)]


def _validation_body(detail: Any) -> dict[str, Any]:
    if not isinstance(detail, dict):
        messages = _flatten(detail)
        return error_body("invalid", messages[0] if messages else VALIDATION_MESSAGE)
    fields = {str(name): _flatten(value) for name, value in detail.items() if name != "non_field_errors"}
    general = _flatten(detail.get("non_field_errors", []))
    return error_body("invalid", general[0] if general else VALIDATION_MESSAGE, fields)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, ``Retry-After``, ``WWW-Authenticate``), then our body."""
    if isinstance(exc, ServiceError):
        body = error_body(service_error_code(exc), exc.message)
        # Some errors say more, next to the code (``lesson_not_open``: ``opens_at``).
        body["error"].update(getattr(exc, "details", None) or {})
        response = Response(body, status=exc.status_code)
        if isinstance(exc, RateLimited):
            # A service's own limit (messages, invitations, a plugin's posting rate) says when
            # to try again as a throttle's refusal does.
            response["Retry-After"] = exc.retry_after_header
        return response
    if isinstance(exc, IdempotencyError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return server_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, list | dict) else (_flatten(detail) or [""])[0]
        response.data = error_body(_code_of(exc), message)
    return response


def server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An exception no code expected: a JSON 500, reported as Django reports a 500 (called from
    DRF's ``except`` block, so ``sys.exc_info()`` is the exception for the signal's receivers)."""
    set_rollback()
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    signals.got_request_exception.send(sender=None, request=django_request)
    response = Response(error_body("server_error", SERVER_ERROR_MESSAGE), status=SERVER_ERROR_STATUS)
    log_response(
        "%s: %s", "Internal Server Error", getattr(django_request, "path", ""),
        response=response, request=django_request, exception=exc,
    )
    return response


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: a 404 in the same shape (not the site's HTML page), whatever
    the method (it writes nothing, so no CSRF check)."""
    return JsonResponse(error_body("not_found", "There is no API endpoint at this address."), status=404)


@csrf_exempt
def switched_off(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """A plugin's API endpoint while the plugin is switched off: the same JSON 404 (its data is
    kept; nothing is written, so no CSRF check)."""
    return JsonResponse(error_body("not_found", "This feature is switched off."), status=404)
