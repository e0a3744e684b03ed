"""Login limits on every form that calls ``authenticate(request, ...)``: /accounts/login/,
Wagtail's /admin/login/ and Django's /django-admin/login/ alike, with no list of URLs to keep.

The shape is django-axes' (a first authentication backend that refuses a limited attempt before
any password is hashed, and a middleware that turns the refusal into a clear page); the counting
is the shared limiter's (academy/ratelimit.py): one atomic check per attempt over all its rules.

Limits that stop guessing, not classes (README "Rate limits"; defaults in settings):

- **Per (account, client address)**: the lockout. One address guessing one account is refused
  after ``RATELIMIT_LOGIN_ACCOUNT_ADDRESS`` failures until its window has room, right password or
  not. Thirty learners behind one school address are thirty pairs: their typos never add up.
- **Per client address**, whatever the usernames: ``RATELIMIT_LOGIN_ADDRESS``, set at a level
  only an attack reaches (a class of 200 mistyping twice stays far below it).
- **Per account across addresses**: ``RATELIMIT_LOGIN_ACCOUNT`` failures pass, then each attempt
  waits a delay that doubles from ``RATELIMIT_LOGIN_DELAY`` to ``RATELIMIT_LOGIN_DELAY_MAX``
  seconds: a distributed attack is slowed to a crawl, yet nobody can hold the account shut.
- **Known devices** (OWASP's "device cookies"): a successful login leaves a signed cookie that
  names the account (a keyed digest of the username) and a random device id. An attempt on that
  account from that browser skips the three rules above and counts against the device alone
  (``RATELIMIT_LOGIN_DEVICE``), so an attack on the account never locks out the owner's own
  laptop or phone, while a stolen cookie buys no more guesses than one address has. A cookie
  changed by hand, expired (``LOGIN_DEVICE_COOKIE_DAYS``) or for another account counts for
  nothing. One browser remembers up to ``LOGIN_DEVICE_COOKIE_ACCOUNTS`` accounts (a shared
  classroom computer).

Every attempt is counted before its password is checked, so parallel requests get no more
guesses than the limits; a successful login takes its attempt back everywhere and empties its
own pair's (or device's) window: the owner's typos are forgiven. The account-wide count is not
emptied, so a success elsewhere does not hand an attacker fresh free guesses. Refused attempts
are not counted, so knocking does not extend a lockout. Store down: logins fail closed (503 with
Retry-After), see ``ratelimit.FAIL_OPEN``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from academy import ratelimit

# The attribute a login request carries once it was checked (an :class:`Attempt`).
_ATTEMPT = "_login_limit_attempt"
# Set on a request whose counted attempt signed in (the middleware then sets the device cookie).
_SIGNED_IN = "_login_limit_signed_in"
# The cookie that makes a browser a known device, and the salt of its signature.
DEVICE_COOKIE = "academy_device"
_DEVICE_SALT = "academy.login-device"
_DEVICE_ID_BYTES = 16
_SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class Attempt:
    """One counted (or refused) login attempt: its rules, the limiter's answer, the account
    (casefolded username), and the known device's id when the attempt came from one."""

    limits: list[ratelimit.Limit]
    decision: ratelimit.Decision
    account: str
    device: str = ""


def _account(username: str) -> str:
    return username.strip().casefold()


def _account_digest(account: str) -> str:
    """The cookie's name for an account: a keyed digest, so the cookie shows no usernames."""
    return salted_hmac(_DEVICE_SALT, account).hexdigest()[:32]


def known_devices(request: HttpRequest) -> dict[str, str]:
    """The accounts this browser signed in to before, as {account digest: device id}; empty for
    no cookie, a forged one or an expired one."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        value = signing.loads(raw, salt=_DEVICE_SALT, max_age=settings.LOGIN_DEVICE_COOKIE_DAYS * _SECONDS_PER_DAY)
    except signing.BadSignature:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(key): str(device) for key, device in value.items() if isinstance(device, str)}


def login_limits(request: HttpRequest, username: str, device: str = "") -> list[ratelimit.Limit]:
    """The rules a login attempt as ``username`` counts against: its device's alone when it comes
    from a known device (``device``), else its (account, address) pair, its address and its
    account's growing delay."""
    account = _account(username)
    if device:
        return [ratelimit.limit("login_device", f"{account}|{device}")]
    address = ratelimit.client_address(request)
    account_rate = ratelimit.Rate.parse(settings.RATELIMIT_LOGIN_ACCOUNT).with_delay(
        settings.RATELIMIT_LOGIN_DELAY, settings.RATELIMIT_LOGIN_DELAY_MAX
    )
    return [
        ratelimit.limit("login_account_address", f"{account}|{address}"),
        ratelimit.limit("login_address", address),
        ratelimit.Limit("login_account", account, account_rate),
    ]


class LoginRateLimitBackend:
    """First in AUTHENTICATION_BACKENDS: counts the attempt, or refuses it when limited.

    It never authenticates anyone itself (``authenticate`` returns None and the next backend
    checks the password). Tools that log a user in with the first backend (Django's
    ``force_login``, Wagtail's test utilities) store its path in the session, so it loads a
    session's user exactly as ModelBackend does.
    """

    def get_user(self, user_id: Any) -> Any:
        """The active user with this id, or None (ModelBackend's rule)."""
        return ModelBackend().get_user(user_id)

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **credentials: Any) -> None:
        """Count this attempt; raise PermissionDenied (no password is checked) when limited."""
        if request is None:
            # Not a login form (a management command, a test helper): nothing to limit.
            return None
        if username is None:
            username = credentials.get(get_user_model().USERNAME_FIELD) or ""
        account = _account(str(username))
        device = known_devices(request).get(_account_digest(account), "")
        limits = login_limits(request, account, device)
        decision = ratelimit.check(limits, door="login")
        setattr(request, _ATTEMPT, Attempt(limits=limits, decision=decision, account=account, device=device))
        if not decision.allowed:
            raise PermissionDenied("login rate limit")
        return None


@receiver(user_logged_in)
def _forgive_successful_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A login succeeded: it was no failure, and its pair's (or device's) typos are forgiven."""
    attempt = getattr(request, _ATTEMPT, None) if request is not None else None
    if attempt is None:
        return
    ratelimit.refund(attempt.limits, attempt.decision)
    # The first rule is the pair, or the device: the owner's own window. The account-wide
    # count stays, so a success does not reset an attacker's delays.
    ratelimit.forget(attempt.limits[:1])
    setattr(request, _SIGNED_IN, True)


def _remember_device(request: HttpRequest, response: HttpResponse, attempt: Attempt) -> None:
    """Make (or keep) this browser a known device of the account that just signed in."""
    devices = known_devices(request)
    digest = _account_digest(attempt.account)
    device = devices.pop(digest, "") or secrets.token_hex(_DEVICE_ID_BYTES)
    # Most recent last; the oldest accounts are forgotten past the maximum.
    devices[digest] = device
    kept = dict(list(devices.items())[-settings.LOGIN_DEVICE_COOKIE_ACCOUNTS :])
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(kept, salt=_DEVICE_SALT, compress=True),
        max_age=settings.LOGIN_DEVICE_COOKIE_DAYS * _SECONDS_PER_DAY,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class LoginRefusalMiddleware:
    """Answer a login attempt the backend refused with the lockout page (429) or 503.

    The login view itself only saw a failed ``authenticate()``; without this it would show
    "wrong password" to someone who typed the right one. A login that succeeded gets the device
    cookie here (the backend and the signal have no response to set it on).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Pass the request on; replace the response when the login limit refused it, and give
        a browser that just signed in its device cookie."""
        response = self.get_response(request)
        attempt = getattr(request, _ATTEMPT, None)
        if attempt is None:
            return response
        if not attempt.decision.allowed:
            return ratelimit.refusal_response(
                request,
                attempt.decision,
                message=(
                    "Too many failed sign-in attempts for this account or from your network. "
                    "Signing in is paused for a while to protect the account."
                ),
            )
        if getattr(request, _SIGNED_IN, False):
            _remember_device(request, response, attempt)
        return response
