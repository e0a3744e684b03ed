"""WebSocket authentication by ticket, for apps that hold a token rather than a session cookie.

An app asks ``POST /api/v1/socket-tickets/`` (with its token) for a ticket and connects to
``/ws/...?ticket=<ticket>``. :class:`TicketAuthMiddleware` redeems it (once, within its
lifetime: ``learning.tokens.socket_ticket_redeem``) and sets the connection's user and
credential; the consumers then treat the token as they treat a login session (the socket closes
when it is revoked or expires). Without a ticket nothing changes: the session cookie decides.

Origins: a cookie connection must come from the site's own origin (Channels'
``AllowedHostsOriginValidator``: a foreign page cannot ride the visitor's cookie). A ticket is
no ambient credential, so a ticket connection is also accepted with no ``Origin`` (native apps
send none) or from an origin listed in ``ACADEMY_CORS_ORIGINS`` (a web app there).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from learning import tokens

#: The scope key where a ticket connection keeps its ``tokens.SocketCredential``.
CREDENTIAL_SCOPE_KEY = "socket_credential"


def ticket_of(scope: dict[str, Any]) -> str | None:
    """The ``ticket`` query parameter of a WebSocket handshake, if any."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("ticket")
    return values[0] if values else None


def _origin_of(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return None


class TicketAuthMiddleware:
    """Sets ``scope["user"]`` (and the credential) from a ``?ticket=`` when there is one; an
    invalid, expired or used ticket makes the connection anonymous (the consumer closes it 4401).
    Sits inside Channels' ``AuthMiddlewareStack``, so it overrides the cookie's user."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Redeem the ticket (one database round trip) before the consumer runs."""
        ticket = ticket_of(scope) if scope.get("type") == "websocket" else None
        if ticket is not None:
            credential = await database_sync_to_async(tokens.socket_ticket_redeem)(ticket)
            scope = dict(scope)
            scope["user"] = credential.user if credential else AnonymousUser()
            scope[CREDENTIAL_SCOPE_KEY] = credential
            # A password a browser session passed never counts for a ticket (as for a token).
            scope["session"] = None
        return await self.inner(scope, receive, send)


class SocketOriginValidator:
    """Cookie connections: the site's own origins only. Ticket connections: also none, or one
    of ``CORS_ALLOWED_ORIGINS``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.same_site = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Let the handshake through, or have Channels refuse it (403)."""
        if scope.get("type") == "websocket" and ticket_of(scope) is not None:
            origin = _origin_of(scope)
            if origin is None or origin in settings.CORS_ALLOWED_ORIGINS:
                return await self.inner(scope, receive, send)
        return await self.same_site(scope, receive, send)
