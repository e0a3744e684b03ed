"""OpenAPI generation (drf-spectacular): every operation documents its errors in the one
error shape, and the bearer token scheme is named."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from academy.idempotency import KEY_MAX_LENGTH
from learning.api.serializers import ErrorSerializer, InputSerializer

# Errors any operation may answer, and the extra ones of writes.
COMMON_ERRORS = {
    "400": "Invalid input: a query parameter, the cursor or the body (fields lists the problems; "
           "a body that is not JSON or nests too deeply is parse_error).",
    "401": "Not authenticated, or the token is invalid or expired.",
    "403": "Not allowed (a view restriction, a missing permission, CSRF; lesson_not_open with opens_at "
           "before a lesson opens to the learner).",
    "404": "Not found, or not yours.",
    "405": "The method is not allowed here (the Allow header lists those that are).",
    "406": "The Accept header asks for something other than JSON.",
    "429": "Throttled; Retry-After says when to try again.",
    "500": "An error on our side (server_error), reported to the operators; the same error shape.",
}
WRITE_ERRORS = {
    "409": "The object's state does not allow this (or a request with the same Idempotency-Key is still running).",
    "422": "The Idempotency-Key was used for another request (idempotency_key_reused).",
    "415": "The body is not JSON.",
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AcademyAutoSchema(AutoSchema):
    """drf-spectacular's schema with the error responses added to every operation."""

    def get_override_parameters(self) -> list[Any]:
        """Every POST takes an optional ``Idempotency-Key`` header (``academy.idempotency``)."""
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(OpenApiParameter(
                name="Idempotency-Key", location=OpenApiParameter.HEADER, required=False,
                type={"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": "^[!-~]+$"},
                description="Any unique string (1-255 visible characters). Sent again with the same "
                "request, the first answer is replayed (Idempotent-Replayed: true) instead of acting twice. "
                "Kept 24 hours per user.",
            ))
        return parameters

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        """A request body that refuses unknown fields (``InputSerializer``) says so:
        ``additionalProperties: false``."""
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, InputSerializer):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self.method in WRITE_METHODS:
            errors.update(WRITE_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=description), code, direction=direction
                )
        return responses


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Personal access tokens (``Authorization: Bearer acd_...``), made on the account page."""

    target_class = "learning.api.authentication.TokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        """An HTTP bearer scheme."""
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token from your account page (/accounts/tokens/).",
        }


class OAuthScheme(DjangoOAuthToolkitScheme):
    """Apps' OAuth 2 tokens: the authorization code flow (with PKCE) of ``/o/``, its scopes the
    API's token scopes; each staff operation names the scope it needs."""

    target_class = "learning.api.authentication.OAuthTokenAuthentication"
    name = "oauth2"
    priority = 1  # over drf-spectacular's own extension for the provider's class

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]] | None:
        """The scope the view asks of a token for this method (none: acting as the user is
        enough); no OAuth at all where the view takes no service or app token."""
        if not getattr(auto_schema.view, "scoped_tokens", True):
            return None
        scope_for = getattr(auto_schema.view, "scope_for", None)
        scope = scope_for(auto_schema.method) if scope_for is not None else None
        return {self.name: [scope] if scope else []}

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        """drf-spectacular's definition (the flow's URLs from SPECTACULAR_SETTINGS, the scopes from
        the provider's backend), described."""
        definition = super().get_security_definition(auto_schema)
        definition["description"] = (
            "For apps: OAuth 2 authorization code with PKCE (S256, required). Any token acts as the "
            "learner who allowed the app; the scopes add what the learner may do as staff. See docs/api.md."
        )
        return definition
