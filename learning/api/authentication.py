"""API authentication: personal access tokens (``Authorization: Bearer acd_...``) for scripts,
apps' OAuth 2 access tokens (``Bearer acdo_...``, ``learning.oauth``), Django's session (with
CSRF on writes) for the browser.

The token classes are listed first, so an anonymous request is answered 401 with
``WWW-Authenticate: Bearer`` rather than 403. Either token is ``request.auth`` afterwards
(``learning.tokens.ApiToken``) and is judged by the same rules (``learning.tokens.token_allows``).
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from learning import tokens

KEYWORD = "Bearer"


def bearer_secret(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one (or with
    another scheme). Raises ``AuthenticationFailed`` for a malformed one."""
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() != KEYWORD.lower().encode():
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
    try:
        return header[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token") from exc


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; no header (or another scheme, or an app's OAuth token):
    not this class's call."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """The token's user and the token row, or None when no personal bearer token was sent."""
        secret = bearer_secret(request)
        if secret is None or secret.startswith(tokens.OAUTH_TOKEN_PREFIX):
            return None
        try:
            return tokens.token_authenticate(secret)
        except tokens.TokenExpired as exc:
            raise exceptions.AuthenticationFailed(exc.message, code="token_expired") from exc
        except tokens.TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code="invalid_token") from exc

    def authenticate_header(self, request: Request) -> str:
        """The challenge of a 401."""
        return f'{KEYWORD} realm="api"'


class OAuthTokenAuthentication(OAuth2Authentication):
    """An app's OAuth 2 access token (``Authorization: Bearer acdo_...``), checked by
    django-oauth-toolkit (the header only: a token in the query string is refused). A revoked,
    expired or unknown token, or one of a deactivated user, is a 401 in the API's error shape
    (``invalid_token`` / ``token_expired``), never an anonymous call."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """The token's user and its ``AccessToken``, or None when no app token was sent."""
        secret = bearer_secret(request)
        if secret is None or not secret.startswith(tokens.OAUTH_TOKEN_PREFIX):
            return None
        found = super().authenticate(request) if len(secret) <= tokens.TOKEN_MAX_LENGTH else None
        if found is None:
            if tokens.oauth_token_expired(secret):
                raise exceptions.AuthenticationFailed("This token has expired.", code="token_expired")
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        user, access_token = found
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        return user, access_token

    def authenticate_header(self, request: Request) -> str:
        """The challenge of a 401 (the same as the personal tokens')."""
        return f'{KEYWORD} realm="api"'
