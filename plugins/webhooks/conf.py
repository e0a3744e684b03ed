"""Settings of the webhooks plugin (Django settings first, then environment variables).

- ``ACADEMY_WEBHOOKS_MAX_ATTEMPTS`` (6): attempts of one delivery before it is ``dead``.
- ``ACADEMY_WEBHOOKS_BACKOFF`` (``60,300,1800,7200,21600``): seconds before the 1st, 2nd, ...
  retry; the last value repeats. Each wait gets up to ``JITTER`` (10 %) added at random, so
  receivers that came back are not hit by every retry at the same second.
- ``ACADEMY_WEBHOOKS_TIMEOUT`` (10): seconds to connect and to wait for the answer.
- ``ACADEMY_WEBHOOKS_LEASE`` (60): seconds a worker owns a delivery it is sending; a worker
  killed mid-delivery leaves the lease to expire, then the sweeper sends it again. Always at
  least the timeout plus ``LEASE_MARGIN`` seconds.
- ``ACADEMY_WEBHOOKS_DISABLE_AFTER`` (15): consecutive failed attempts that switch a
  subscription off (its owners are told; an admin re-enables it).
- ``ACADEMY_WEBHOOKS_PRIVATE_HOSTS`` (empty): host names allowed to use ``http://`` and to
  resolve to private or loopback addresses (tests, a receiver on the same machine). With
  ``DJANGO_DEBUG`` every host is. Otherwise a target must be ``https://`` on a public address,
  checked when saved and again at every delivery (SSRF).
"""

from __future__ import annotations

from django.conf import settings

from academy.sdk import env_int, env_str

DEFAULT_BACKOFF = (60, 300, 1800, 7200, 21600)
JITTER = 0.1
LEASE_MARGIN = 5
# How long a delivery waits for the task its creation queued before the sweeper queues it again
# (the task was lost: the broker refused it, or the Redis broker dropped it with a worker).
ENQUEUE_GRACE_SECONDS = 60
SWEEP_MINUTES = 1
SWEEP_BATCH = 500
RESPONSE_EXCERPT = 1000
ERROR_EXCERPT = 500


def _setting(name: str, default: object) -> object:
    return getattr(settings, name, default)


def max_attempts() -> int:
    """Attempts of one delivery before it is given up (``dead``)."""
    return max(1, int(_setting("WEBHOOKS_MAX_ATTEMPTS", None) or env_int("ACADEMY_WEBHOOKS_MAX_ATTEMPTS", 6)))


def backoff_seconds() -> tuple[int, ...]:
    """Seconds before each retry (the last value repeats)."""
    configured = _setting("WEBHOOKS_BACKOFF", None)
    if configured is None:
        raw = env_str("ACADEMY_WEBHOOKS_BACKOFF", "")
        if raw.strip():
            try:
                configured = tuple(int(part) for part in raw.split(","))
            except ValueError as exc:
                raise ValueError(f"ACADEMY_WEBHOOKS_BACKOFF must be seconds separated by commas, not {raw!r}") from exc
    values = tuple(int(v) for v in (configured or DEFAULT_BACKOFF))
    if not values or any(v < 0 for v in values):
        raise ValueError("ACADEMY_WEBHOOKS_BACKOFF needs at least one non-negative number of seconds")
    return values


def timeout_seconds() -> int:
    """Seconds to connect, and to wait for each read of the answer."""
    return max(1, int(_setting("WEBHOOKS_TIMEOUT", None) or env_int("ACADEMY_WEBHOOKS_TIMEOUT", 10)))


def lease_seconds() -> int:
    """Seconds a worker owns a delivery it is sending (never shorter than a whole attempt)."""
    lease = int(_setting("WEBHOOKS_LEASE", None) or env_int("ACADEMY_WEBHOOKS_LEASE", 60))
    return max(lease, 2 * timeout_seconds() + LEASE_MARGIN)


def disable_after() -> int:
    """Consecutive failed attempts after which a subscription is switched off."""
    return max(1, int(_setting("WEBHOOKS_DISABLE_AFTER", None) or env_int("ACADEMY_WEBHOOKS_DISABLE_AFTER", 15)))


def private_hosts() -> frozenset[str]:
    """Host names allowed on http:// and on private or loopback addresses."""
    configured = _setting("WEBHOOKS_PRIVATE_HOSTS", None)
    if configured is None:
        configured = [part for part in env_str("ACADEMY_WEBHOOKS_PRIVATE_HOSTS", "").split(",")]
    return frozenset(host.strip().lower() for host in configured if host.strip())


def allows_private(host: str) -> bool:
    """Whether ``host`` may be reached over http:// and on a private or loopback address."""
    return bool(settings.DEBUG) or host.lower() in private_hosts()
