"""API authentication: personal access tokens (``Authorization: Bearer acd_...``) for scripts and
apps, Django's session (with CSRF on writes) for the browser.

The token class is listed first, so an anonymous request is answered 401 with
``WWW-Authenticate: Bearer`` rather than 403.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from learning import tokens

KEYWORD = "Bearer"


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; no header (or another scheme): not this class's call."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """The token's user and the token row, or None when no bearer token was sent."""
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token") from exc
        try:
            return tokens.token_authenticate(secret)
        except tokens.TokenExpired as exc:
            raise exceptions.AuthenticationFailed(exc.message, code="token_expired") from exc
        except tokens.TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code="invalid_token") from exc

    def authenticate_header(self, request: Request) -> str:
        """The challenge of a 401."""
        return f'{KEYWORD} realm="api"'
