"""OAuth 2 for apps (django-oauth-toolkit under ``/o/``): staff register apps, learners authorise
them, and an app calls the API with the access token it got, never with a password.

The flow is the authorization code with PKCE (S256, required for every client): the provider's
settings are ``OAUTH2_PROVIDER`` in siteconfig.settings. This module holds what the provider
asks of the project and the writes of the two screens around it:

- the scopes (:class:`ApiScopes`): exactly the API's token scopes, ``learning.tokens.SCOPES``;
- the token format (:func:`new_token`): ``acdo_`` and 32 random bytes, so the API tells an app's
  token from a personal one (``acd_``) and secret scanners recognise it;
- apps, registered by staff in the Wagtail admin (:func:`application_create`,
  :func:`application_delete`; ``learning.oauth_admin``): the permissions on django-oauth-toolkit's
  ``Application`` model decide who may (superusers, and groups an admin gives them to);
- a learner's authorised apps (:func:`user_authorizations`, :func:`authorization_revoke`; the
  account page beside the personal tokens).

What an app's token may do is decided where a personal token's is: ``learning.tokens.token_allows``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.models import get_application_model, get_refresh_token_model
from oauth2_provider.scopes import BaseScopes

from learning import tokens

Application = get_application_model()

NAME_MAX = 100
# The longest list of redirect URIs an app may register (one per line).
REDIRECT_URIS_MAX = 10
CLIENT_TYPES = {
    Application.CLIENT_PUBLIC: "Public: a mobile, desktop or single-page app that cannot keep a secret",
    Application.CLIENT_CONFIDENTIAL: "Confidential: a web app with a server that keeps the client secret",
}
PERMISSION_ADD = "oauth2_provider.add_application"
PERMISSION_DELETE = "oauth2_provider.delete_application"


class OAuthError(Exception):
    """An app could not be registered or removed; ``message`` says why (shown to the user)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ApiScopes(BaseScopes):
    """The provider's scopes: the API's token scopes, one definition (``learning.tokens.SCOPES``).
    An app that asks for none is given ``read``."""

    def get_all_scopes(self) -> dict[str, str]:
        """Every scope and what it allows, in words."""
        return dict(tokens.SCOPES)

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        """Every app may ask for any of them; the learner decides."""
        return list(tokens.SCOPES)

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        """The least of them."""
        return [tokens.SCOPE_READ]


def new_token(request: Any = None, refresh_token: bool = False) -> str:
    """An access or refresh token (oauthlib's token generator signature)."""
    return tokens.OAUTH_TOKEN_PREFIX + secrets.token_urlsafe(tokens.TOKEN_BYTES)


@dataclass(frozen=True)
class NewApplication:
    """An app just registered, and its client secret (confidential apps; shown once, stored hashed)."""

    application: Any
    client_secret: str | None


def application_create(*, by: Any, name: str, client_type: str, redirect_uris: str) -> NewApplication:
    """Register an app named ``name`` of ``client_type`` (public or confidential) that may send
    learners back to ``redirect_uris`` (whitespace-separated, matched exactly). Authorization
    code grant only. Raises ``OAuthError`` for a caller without the add permission, an empty or
    too long name, an unknown client type, and redirect URIs that are missing, too many, or not
    of an allowed scheme (``OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"]``)."""
    if by is None or not getattr(by, "is_active", False) or not by.has_perm(PERMISSION_ADD):
        raise OAuthError("You may not register apps.")
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise OAuthError(f"Give the app a name of 1 to {NAME_MAX} characters.")
    if client_type not in CLIENT_TYPES:
        raise OAuthError(f"Choose a client type of: {', '.join(CLIENT_TYPES)}.")
    uris = (redirect_uris or "").split()
    if not uris or len(uris) > REDIRECT_URIS_MAX:
        raise OAuthError(f"Give 1 to {REDIRECT_URIS_MAX} redirect URIs.")
    secret = secrets.token_urlsafe(48) if client_type == Application.CLIENT_CONFIDENTIAL else ""
    application = Application(
        name=name, client_type=client_type, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(uris), client_secret=secret, user=by, skip_authorization=False,
    )
    try:
        application.full_clean(exclude=["client_id", "user"])
    except ValidationError as exc:
        raise OAuthError(" ".join(exc.messages)) from exc
    application.save()
    return NewApplication(application=application, client_secret=secret or None)


def application_delete(*, by: Any, application_id: int) -> bool:
    """Remove an app with every token and code it holds (every learner's); its calls get 401 at
    once. False when there is no such app. Raises ``OAuthError`` without the delete permission."""
    if by is None or not getattr(by, "is_active", False) or not by.has_perm(PERMISSION_DELETE):
        raise OAuthError("You may not remove apps.")
    deleted, _by_model = Application.objects.filter(pk=application_id).delete()
    return deleted > 0


@dataclass(frozen=True)
class Authorization:
    """An app a learner authorised: the scopes they granted it and since when it holds tokens."""

    application: Any
    scopes: list[str]
    since: datetime

    @property
    def described_scopes(self) -> list[tuple[str, str]]:
        """Each granted scope with its words."""
        return [(scope, tokens.SCOPES[scope]) for scope in self.scopes]


def user_authorizations(*, user_id: int) -> list[Authorization]:
    """The apps holding a live grant of user ``user_id`` (an access token, or a refresh token not
    revoked), by name, each with the scopes of its tokens. Two queries."""
    found: dict[int, dict[str, Any]] = {}
    access = tokens.AccessToken.objects.filter(user_id=user_id).select_related("application")
    refresh = (get_refresh_token_model().objects.filter(user_id=user_id, revoked__isnull=True)
               .select_related("application", "access_token"))
    for token, scope in [*((row, row.scope) for row in access),
                         *((row, row.access_token.scope if row.access_token else "") for row in refresh)]:
        entry = found.setdefault(token.application_id, {"application": token.application, "scopes": set(),
                                                        "since": token.created})
        entry["scopes"].update(scope.split())
        entry["since"] = min(entry["since"], token.created)
    rows = [Authorization(application=entry["application"], since=entry["since"],
                          scopes=[scope for scope in tokens.SCOPES if scope in entry["scopes"]])
            for entry in found.values()]
    return sorted(rows, key=lambda row: (row.application.name.lower(), row.application.pk))


def authorization_revoke(*, user: Any, application_id: int) -> bool:
    """Take back ``user``'s authorisation of app ``application_id``: every token and code of it
    goes, so its calls get 401 at once and its open sockets close at their next check. False
    when the app held nothing of theirs."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    with transaction.atomic():
        held = user_holds(user_id=user.pk, application_id=application_id)
        tokens.oauth_tokens_delete(user_id=user.pk, application_id=application_id)
    return held


def user_holds(*, user_id: int, application_id: int) -> bool:
    """Whether app ``application_id`` holds any token of user ``user_id`` (live or not)."""
    return (tokens.AccessToken.objects.filter(user_id=user_id, application_id=application_id).exists()
            or get_refresh_token_model().objects.filter(user_id=user_id, application_id=application_id).exists())
