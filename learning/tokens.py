"""Personal access tokens: made and revoked by their owner, checked by the API's authentication.

The only code that writes ``PersonalAccessToken`` rows. A token is ``acd_`` followed by 43
URL-safe characters (32 random bytes); the database keeps its SHA-256 digest, so a leaked
database holds no usable token. The token is returned once, by :func:`token_create`.
``last_used_at`` is written at most once per ``LAST_USED_RESOLUTION`` per token, so a busy
script does not write a row on every call (one conditional UPDATE per call decides).

Tokens end with the sessions: a password change or reset, a deactivation and "log out
everywhere" delete every token of the user (:func:`tokens_end_all`, called by
``learning.sessions``), so a leaked token does not outlive the credentials that made it.

The API takes a second kind of token: an app's OAuth 2 access token (django-oauth-toolkit's
``AccessToken``, issued at ``/o/token/`` to an app a learner authorised; ``learning.oauth``).
Whatever authenticated a call (``ApiToken``: either kind, or None for a browser session) is
judged by the same functions here: what it may do (:func:`token_allows`), what it is throttled
as (:func:`token_key`), and which socket tickets it gets.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from learning.models import PersonalAccessToken

AccessToken = get_access_token_model()
#: What authenticated an API call by token (``request.auth``): a personal (or service account)
#: token, or an app's OAuth 2 access token.
ApiToken = PersonalAccessToken | AccessToken

TOKEN_PREFIX = "acd_"
#: The start of an app's OAuth 2 access and refresh tokens (``learning.oauth.new_token``): the API
#: tells the two kinds apart by it, and a secret scanner can recognise both.
OAUTH_TOKEN_PREFIX = "acdo_"
TOKEN_BYTES = 32
# Characters of the token kept visible (after TOKEN_PREFIX) so the owner can recognise it.
VISIBLE_CHARACTERS = 6
# The longest name and the most tokens one user may hold.
NAME_MAX = PersonalAccessToken._meta.get_field("name").max_length
MAX_TOKENS_PER_USER = 20
# Longest expiry a token may be given, in days (and the choices the account page offers).
MAX_EXPIRY_DAYS = 366
# How stale last_used_at may get before a call writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longest string that could be a token (longer Authorization values are refused unread).
TOKEN_MAX_LENGTH = 100


class TokenError(Exception):
    """A token could not be made or used; ``message`` says why (shown to the user)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TokenExpired(TokenError):
    """The token exists but its expiry has passed."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: the row, and the token itself (shown once, never stored)."""

    token: PersonalAccessToken
    secret: str


def digest_of(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: Any, name: str, expires_in_days: int | None = None) -> NewToken:
    """Make a token for ``user``, named ``name``, valid for ``expires_in_days`` (None: no expiry).

    Raises ``TokenError`` for an empty or too long name, an expiry outside 1..MAX_EXPIRY_DAYS,
    an anonymous or inactive user, or a user who already holds MAX_TOKENS_PER_USER tokens.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise TokenError("Log in to make a token.")
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise TokenError(f"Give the token a name of 1 to {NAME_MAX} characters.")
    if expires_in_days is not None and (
        not isinstance(expires_in_days, int) or isinstance(expires_in_days, bool)
        or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS
    ):
        raise TokenError(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days, or never.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        # Lock the user's row so two concurrent requests cannot both pass the count.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        if PersonalAccessToken.objects.filter(user_id=user.pk).count() >= MAX_TOKENS_PER_USER:
            raise TokenError(f"You hold {MAX_TOKENS_PER_USER} tokens already; revoke one first.")
        token = PersonalAccessToken.objects.create(
            user_id=user.pk,
            name=name,
            prefix=secret[: len(TOKEN_PREFIX) + VISIBLE_CHARACTERS],
            digest=digest_of(secret),
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
    return NewToken(token=token, secret=secret)


def token_revoke(*, user: Any, token_id: int) -> bool:
    """Delete ``user``'s token ``token_id``; False when there is no such token of theirs."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    deleted, _by_model = PersonalAccessToken.objects.filter(user_id=user.pk, pk=token_id).delete()
    return deleted > 0


def tokens_end_all(*, user_id: int) -> int:
    """Delete every token of user ``user_id`` (their sessions are ending), their apps' OAuth
    tokens and unused authorization codes included; return how many personal tokens and app
    access tokens went."""
    with transaction.atomic():
        deleted, _by_model = PersonalAccessToken.objects.filter(user_id=user_id).delete()
        deleted += oauth_tokens_delete(user_id=user_id)
    return deleted


def oauth_tokens_delete(*, user_id: int, application_id: int | None = None) -> int:
    """Delete user ``user_id``'s OAuth access and refresh tokens and authorization codes (of one
    application, or of all); return how many access tokens went. Their apps get 401 at once."""
    mine = {"user_id": user_id} if application_id is None else {"user_id": user_id, "application_id": application_id}
    with transaction.atomic():
        get_grant_model().objects.filter(**mine).delete()
        get_refresh_token_model().objects.filter(**mine).delete()
        deleted, _by_model = AccessToken.objects.filter(**mine).delete()
    return deleted


def user_tokens(*, user_id: int, now: datetime | None = None) -> list[PersonalAccessToken]:
    """The user's tokens, newest first (the account page), each with ``expired`` set (True past
    its expiry: still listed, refused by the API). One query."""
    now = now or timezone.now()
    rows = list(PersonalAccessToken.objects.filter(user_id=user_id).order_by("-created_at", "-pk"))
    for token in rows:
        token.expired = token.expires_at is not None and token.expires_at <= now  # type: ignore[attr-defined]
    return rows


def token_authenticate(secret: str, *, now: datetime | None = None) -> tuple[Any, PersonalAccessToken]:
    """The active user owning ``secret`` and the token; records the use.

    Two queries: the token with its user, and a conditional UPDATE of ``last_used_at`` (which
    writes only when the stored time is older than LAST_USED_RESOLUTION). Raises
    ``TokenExpired`` past the expiry and ``TokenError`` for an unknown token or an inactive user.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > TOKEN_MAX_LENGTH:
        raise TokenError("Invalid token.")
    now = now or timezone.now()
    token = PersonalAccessToken.objects.select_related("user").filter(digest=digest_of(secret)).first()
    if token is None or not token.user.is_active:
        raise TokenError("Invalid token.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenExpired("This token has expired.")
    stale = now - LAST_USED_RESOLUTION
    PersonalAccessToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk
    ).update(last_used_at=now)
    return token.user, token


# --- Socket tickets ---------------------------------------------------------------------------------
# An app authenticated by a token cannot send it on a WebSocket handshake (browsers cannot set
# headers there, and a token in a URL ends up in logs). It asks the API for a ticket instead:
# signed, valid for SOCKET_TICKET_SECONDS, usable once, bound to the credential that asked (the
# token, or the login session), and passes it as ``?ticket=`` when it connects.

SOCKET_TICKET_SECONDS = 60
SOCKET_TICKET_SALT = "academy.socket-ticket"
_USED_TICKET_KEY = "socket-ticket-used:{nonce}"


@dataclass(frozen=True)
class SocketCredential:
    """What a redeemed ticket stands for: the user, and the personal token, the app (OAuth: the
    user's authorisation of it, which outlives each access token it refreshes) or the login
    session that asked."""

    user: Any
    token_id: int | None
    session_key: str | None
    application_id: int | None = None


def socket_ticket_create(*, user: Any, token: ApiToken | None, session_key: str | None) -> str:
    """A ticket for one WebSocket connection of ``user``, bound to ``token`` (a personal token,
    or an app's access token: then to the user's authorisation of the app) or to the login
    session ``session_key`` (the browser). Raises ``TokenError`` without either."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise TokenError("Log in to open a live connection.")
    if token is None and not session_key:
        raise TokenError("A ticket needs a token or a login session.")
    app = token.application_id if isinstance(token, AccessToken) else None
    payload = {"u": user.pk, "t": token.pk if token is not None and app is None else None,
               "s": None if token is not None else session_key, "n": secrets.token_urlsafe(12)}
    if app is not None:
        payload["a"] = app
    return signing.dumps(payload, salt=SOCKET_TICKET_SALT, compress=True)


def socket_ticket_redeem(ticket: str) -> SocketCredential | None:
    """The credential behind ``ticket``, once: None for a ticket that is malformed, forged,
    older than SOCKET_TICKET_SECONDS or already used, or whose token, session or user is gone
    or inactive. Two queries at most (the user, the token)."""
    if not ticket or len(ticket) > TOKEN_MAX_LENGTH * 3:
        return None
    try:
        payload = signing.loads(ticket, salt=SOCKET_TICKET_SALT, max_age=SOCKET_TICKET_SECONDS)
        user_id, token_id, session_key, nonce = payload["u"], payload["t"], payload["s"], str(payload["n"])
        application_id = payload.get("a")
    except (signing.BadSignature, KeyError, TypeError, AttributeError):
        return None
    # One use, across processes (the shared cache); kept a little longer than the ticket lives.
    if not cache.add(_USED_TICKET_KEY.format(nonce=nonce), 1, timeout=SOCKET_TICKET_SECONDS * 2):
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if token_id is not None and not token_is_current(token_id=token_id, user=user):
        return None
    if application_id is not None and not authorization_is_current(application_id=application_id, user=user):
        return None
    return SocketCredential(user=user, token_id=token_id, session_key=session_key, application_id=application_id)


def token_is_current(*, token_id: int, user: Any, now: datetime | None = None) -> bool:
    """Whether token ``token_id`` is still ``user``'s and unexpired (a socket opened with it
    closes when it is revoked or expires). One query."""
    now = now or timezone.now()
    return PersonalAccessToken.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), pk=token_id, user_id=user.pk
    ).exists()


def credential_is_scoped(*, token_id: int | None, application_id: int | None) -> bool:
    """Whether a socket ticket was made with a token limited to scopes (an app's, or a service
    token): such a socket acts as its user on their own streams only, never on a staff stream,
    which no scope grants. At most one query."""
    if application_id is not None:
        return True
    if token_id is None:
        return False
    return bool(PersonalAccessToken.objects.filter(pk=token_id).values_list("scopes", flat=True).first())


def oauth_token_expired(secret: str, *, now: datetime | None = None) -> bool:
    """Whether ``secret`` is an app's access token past its expiry (to say so in the 401). One query."""
    now = now or timezone.now()
    return AccessToken.objects.filter(token_checksum=digest_of(secret), expires__lte=now).exists()


def authorization_is_current(*, application_id: int, user: Any, now: datetime | None = None) -> bool:
    """Whether ``user`` still holds a live OAuth token of app ``application_id``: an unexpired
    access token, or a refresh token neither revoked nor past its lifetime (a socket opened with
    an app's ticket closes when the learner revokes the app or the app's refresh token runs out,
    not when the app refreshes its token). Two queries at most."""
    now = now or timezone.now()
    mine = {"user_id": user.pk, "application_id": application_id}
    refresh_born_after = now - timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
    return (
        AccessToken.objects.filter(expires__gt=now, **mine).exists()
        or get_refresh_token_model().objects.filter(revoked__isnull=True, created__gt=refresh_born_after, **mine).exists()
    )


# --- Service accounts ---------------------------------------------------------------------------------
# Tokens for machines (an HR or SIS sync) rather than people: owned by a ``ServiceAccount``'s user
# (no usable password: it never logs in to the site) and limited to some ``SCOPES``. A personal
# token has no scopes and may do whatever its owner may; a service token may do, of that, only
# what its scopes name (``token_allows``). Made by site admins in the Wagtail admin.

SCOPE_READ = "read"
SCOPE_ENROLL = "enroll"
SCOPE_REPORT = "report"
SCOPE_USERS = "users"
SCOPES: dict[str, str] = {
    SCOPE_READ: "Read a course's enrollments.",
    SCOPE_ENROLL: "Enroll, unenroll, approve and cancel learners.",
    SCOPE_REPORT: "Read a course's progress report and gradebook.",
    SCOPE_USERS: "Create, update, deactivate and look up users by external id.",
}
SERVICE_NAME_MAX = 100


def token_scopes(token: ApiToken | None) -> frozenset[str] | None:
    """The scopes ``token`` is limited to, or None when it is not limited (a browser session, a
    personal token: its owner's permissions decide). A service token's are those it was made
    with; an app's OAuth token's are those the learner granted (possibly none)."""
    if token is None:
        return None
    if isinstance(token, AccessToken):
        return frozenset(token.scope.split())
    return frozenset(token.scopes) if token.scopes else None


def token_allows(token: ApiToken | None, scope: str) -> bool:
    """Whether a request authenticated by ``token`` (None: a browser session) may use ``scope``:
    sessions and personal tokens always (their owner's permissions decide), service tokens and
    apps' OAuth tokens when their scopes name it. The one scope rule of the API."""
    scopes = token_scopes(token)
    return scopes is None or scope in scopes


def token_key(token: ApiToken) -> str:
    """What a token call is counted as by the per-token throttle: the personal token, or the
    user's authorisation of the app (its access tokens change at every refresh)."""
    if isinstance(token, AccessToken):
        return f"oauth:{token.application_id}:{token.user_id}"
    return f"token:{token.pk}"


def token_expires_at(token: ApiToken) -> datetime | None:
    """When ``token`` stops working (None: never)."""
    return token.expires if isinstance(token, AccessToken) else token.expires_at


def _valid_scopes(scopes: Any) -> list[str]:
    chosen = sorted(set(scopes or ()))
    if not chosen or any(scope not in SCOPES for scope in chosen):
        raise TokenError(f"Choose one or more scopes of: {', '.join(SCOPES)}.")
    return chosen


def service_account_create(*, name: str, username: str, by: Any, group_ids: Any = ()) -> Any:
    """A service account named ``name`` with a new user ``username`` (no usable password, in
    the groups ``group_ids``: they give it its staff permissions). Only superusers make them.
    Raises ``TokenError`` for a non-superuser, an empty or too long name, or a username that is
    not valid or is taken."""
    from django.contrib.auth.models import Group

    from learning.models import ServiceAccount

    if by is None or not getattr(by, "is_superuser", False) or not by.is_active:
        raise TokenError("Only site administrators make service accounts.")
    name = (name or "").strip()
    if not name or len(name) > SERVICE_NAME_MAX:
        raise TokenError(f"Give the service account a name of 1 to {SERVICE_NAME_MAX} characters.")
    user_model = get_user_model()
    username = (username or "").strip()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    try:
        username = field.clean(username, None)
    except ValidationError as exc:
        raise TokenError(f"Username: {'; '.join(exc.messages)}") from exc
    groups = list(Group.objects.filter(pk__in=list(group_ids)))
    with transaction.atomic():
        if user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__iexact": username}).exists():
            raise TokenError("That username is taken.")
        user = user_model(**{user_model.USERNAME_FIELD: username})
        user.set_unusable_password()
        user.save()
        user.groups.set(groups)
        return ServiceAccount.objects.create(user=user, name=name, created_by=by)


def service_token_create(
    *, account: Any, name: str, scopes: Any, by: Any, expires_in_days: int | None = None
) -> NewToken:
    """A token of service account ``account`` limited to ``scopes`` (a subset of ``SCOPES``),
    shown once. Only superusers make them. Raises ``TokenError`` as :func:`token_create` does,
    for no or unknown scopes, and for a caller who is not a superuser."""
    if by is None or not getattr(by, "is_superuser", False) or not by.is_active:
        raise TokenError("Only site administrators make service account tokens.")
    chosen = _valid_scopes(scopes)
    with transaction.atomic():
        new = token_create(user=account.user, name=name, expires_in_days=expires_in_days)
        PersonalAccessToken.objects.filter(pk=new.token.pk).update(scopes=chosen)
        new.token.scopes = chosen
    return new
