"""DRF throttles counted by the shared limiter (academy/ratelimit.py).

DRF's own throttles keep a list of timestamps in the cache with a get-then-set (two processes
can both read "99" and both let a request through) and read X-Forwarded-For their own way.
These keep DRF's interface (``scope``, ``THROTTLE_RATES``, ``wait()`` for Retry-After) and
count in the limiter: one atomic sliding window shared by every process, the client address
from :func:`academy.ratelimit.client_address`. The API fails open when the store is down.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from academy import ratelimit
from learning import tokens


class LimiterRateThrottle(SimpleRateThrottle):
    """A DRF throttle whose ``scope`` rate (``"100/hour"``) is enforced by the limiter."""

    def __init__(self) -> None:
        # SimpleRateThrottle parses the rate with its own, coarser parser ("N/unit" only);
        # ours also reads "5/15m". Read when the throttle is built, as DRF does.
        self.rate = self.get_rate()
        self.retry_after: float | None = None

    def get_rate(self) -> str:
        """The scope's rate from the current settings (DRF's class attribute is read once, at
        import, and would miss a settings change)."""
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No default throttle rate set for {self.scope!r} scope") from exc

    def get_ident_for(self, request: Request) -> str | None:
        """Who is counted (None: this throttle does not apply to the request)."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        """Count the request; False (DRF answers 429 with Retry-After) past the rate."""
        ident = self.get_ident_for(request)
        if ident is None:
            return True
        limit = ratelimit.Limit(f"api_{self.scope}", ident, ratelimit.Rate.parse(self.rate))
        decision = ratelimit.check([limit], door="api")
        self.retry_after = None if decision.allowed else float(decision.retry_after_header)
        return decision.allowed

    def wait(self) -> float | None:
        """Seconds until the next request would be allowed (DRF's Retry-After)."""
        return self.retry_after


class AnonRateThrottle(LimiterRateThrottle):
    """Anonymous requests, per client address (``anon``: 100/hour by default)."""

    scope = "anon"

    def get_ident_for(self, request: Request) -> str | None:
        """The client address; None for authenticated requests."""
        if request.user and request.user.is_authenticated:
            return None
        return ratelimit.client_address(request._request)


class UserRateThrottle(LimiterRateThrottle):
    """Authenticated requests, per user (``user``: 1000/hour by default)."""

    scope = "user"

    def get_ident_for(self, request: Request) -> str | None:
        """The user's id; None for anonymous requests (the anon throttle counts those)."""
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class WriteRateThrottle(LimiterRateThrottle):
    """Writes (POST, PUT, PATCH, DELETE) of views with a ``throttle_scope``, per user (or client
    address), at that scope's rate: stricter than the ``user`` rate, so a runaway script cannot
    spend a whole hour's budget on writes. Reads and views without a scope pass."""

    scope = "write"

    def __init__(self) -> None:
        # The rate depends on the view's scope: read in allow_request.
        self.retry_after = None

    def allow_request(self, request: Request, view: Any) -> bool:
        """Count a write of a scoped view against its scope's rate."""
        scope = getattr(view, "throttle_scope", None)
        if scope is None or request.method in SAFE_METHODS:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        return super().allow_request(request, view)

    def get_ident_for(self, request: Request) -> str | None:
        """The user's id, or the client address of an anonymous caller."""
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"addr:{ratelimit.client_address(request._request)}"


class StaffRateThrottle(LimiterRateThrottle):
    """Every call (reads and writes) of the staff and integration endpoints, per token (per user
    for a browser session), at the ``staff`` rate (10,000/hour by default): separate from the
    learner's ``user`` and write scopes, so an HR sync of a thousand people neither runs into the
    learner's 60 enrollments an hour nor spends the staff member's own budget. The decision's
    numbers are kept on the request for the ``RateLimit-*`` headers (``rate_headers``)."""

    scope = "staff"

    def get_ident_for(self, request: Request) -> str | None:
        """``token:<id>`` for a personal token, ``oauth:<app>:<user>`` for an app (``tokens.token_key``),
        ``user:<id>`` for a session; None when anonymous."""
        if not (request.user and request.user.is_authenticated):
            return None
        return tokens.token_key(request.auth) if request.auth is not None else f"user:{request.user.pk}"

    def allow_request(self, request: Request, view: Any) -> bool:
        """Count the call; remember the limit, what is left (one more look at the store) and the
        window, for the headers."""
        ident = self.get_ident_for(request)
        if ident is None:
            return True
        limit = ratelimit.Limit(f"api_{self.scope}", ident, ratelimit.Rate.parse(self.rate))
        decision = ratelimit.check([limit], door="api")
        self.retry_after = None if decision.allowed else float(decision.retry_after_header)
        remaining = ratelimit.room(limit)
        if remaining is not None:
            reset = decision.retry_after if not decision.allowed else limit.rate.window
            request._academy_rate = (limit.rate.limit, remaining, max(1, round(reset)))
        return decision.allowed


def rate_headers(request: Request) -> dict[str, str]:
    """The IETF draft's ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
    (seconds: when refused, until a call is let in again; otherwise the window, the longest until
    the whole quota is back) of a request that ``StaffRateThrottle`` counted; empty otherwise
    (and when the limiter's store could not be read)."""
    numbers = getattr(request, "_academy_rate", None)
    if numbers is None:
        return {}
    limit, remaining, reset = numbers
    return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}
