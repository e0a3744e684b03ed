"""Login limits on every form that calls ``authenticate(request, ...)``: /accounts/login/,
Wagtail's /admin/login/ and Django's /django-admin/login/ alike, with no list of URLs to keep.

The shape is django-axes' (a first authentication backend that refuses a locked-out attempt
before any password is hashed, and a middleware that turns the refusal into a clear page); the
counting is the shared limiter's (academy/ratelimit.py), so one Lua script counts an attempt
against the account and the client address at once, across processes.

- Every attempt is counted before its password is checked, so parallel requests cannot get
  more guesses than the limit; a successful login takes its attempt back (the address keeps no
  trace of it) and empties the account's window (the owner's own typos are forgiven).
- When either window is full the attempt is refused with a 429 page and Retry-After, right
  password or not, until the window has room again: a lockout that ends by itself.
- Refused attempts are not counted, so an attacker who keeps knocking does not extend it.
- A locked account can be locked by anyone who knows its username (that is what "per account"
  means); it is freed ``RATELIMIT_LOGIN_ACCOUNT``'s window after the last counted failure.
- Store down: logins fail closed (503 with Retry-After), see ``ratelimit.FAIL_OPEN``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from academy import ratelimit

# The attribute a login request carries once it was checked: (limits, decision).
_ATTEMPT = "_login_limit_attempt"


def login_limits(request: HttpRequest, username: str) -> list[ratelimit.Limit]:
    """The account's and the client address's limits for a login attempt as ``username``."""
    return [
        ratelimit.limit("login_account", username.strip().casefold()),
        ratelimit.limit("login_address", ratelimit.client_address(request)),
    ]


class LoginRateLimitBackend:
    """First in AUTHENTICATION_BACKENDS: counts the attempt, or refuses it when locked out.

    It never authenticates anyone itself (``authenticate`` returns None and the next backend
    checks the password). Tools that log a user in with the first backend (Django's
    ``force_login``, Wagtail's test utilities) store its path in the session, so it loads a
    session's user exactly as ModelBackend does.
    """

    def get_user(self, user_id: Any) -> Any:
        """The active user with this id, or None (ModelBackend's rule)."""
        return ModelBackend().get_user(user_id)

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **credentials: Any) -> None:
        """Count this attempt; raise PermissionDenied (no password is checked) when locked out."""
        if request is None:
            # Not a login form (a management command, a test helper): nothing to limit.
            return None
        if username is None:
            username = credentials.get(get_user_model().USERNAME_FIELD) or ""
        limits = login_limits(request, str(username))
        decision = ratelimit.check(limits, door="login")
        setattr(request, _ATTEMPT, (limits, decision))
        if not decision.allowed:
            raise PermissionDenied("login rate limit")
        return None


@receiver(user_logged_in)
def _forgive_successful_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A login succeeded: it was no failure, and the account's earlier failures are forgiven."""
    attempt = getattr(request, _ATTEMPT, None) if request is not None else None
    if attempt is None:
        return
    limits, decision = attempt
    account, address = limits
    ratelimit.refund([address], decision)
    ratelimit.forget([account])


class LoginRefusalMiddleware:
    """Answer a login attempt the backend refused with the lockout page (429) or 503.

    The login view itself only saw a failed ``authenticate()``; without this it would show
    "wrong password" to someone who typed the right one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on; replace the response when the login limit refused it."""
        response = self.get_response(request)
        attempt = getattr(request, _ATTEMPT, None)
        if attempt is not None and not attempt[1].allowed:
            return ratelimit.refusal_response(
                request,
                attempt[1],
                message=(
                    "Too many failed sign-in attempts for this account or from your network. "
                    "Signing in is paused for a while to protect the account."
                ),
            )
        return response
