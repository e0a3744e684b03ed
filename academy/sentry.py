"""Sentry error reporting and tracing, only when ``SENTRY_DSN`` is set, and nothing secret in it.

:func:`init_sentry` turns on the Django, Redis and logging integrations with a release
(``SENTRY_RELEASE`` or ``academy@<package version>``), an environment and a sampled trace rate
(probes and ``/metrics`` are never traced). Every event and breadcrumb passes
:func:`scrub_event` / :func:`scrub_breadcrumb` before it leaves the process: cookies, session
ids, CSRF tokens, passwords, API tokens, ``Authorization`` headers and email addresses are
replaced, wherever they sit (request, headers, extra data, breadcrumbs, messages). Local
variables of stack frames are not sent at all: a scrubber cannot know what a variable holds.

Task failures: Django-Q2 catches a failing task's exception itself, then calls its configured
error reporters inside the ``except`` block. :class:`TaskErrorReporter` is one (entry point
``djangoq.errorreporters: academy_sentry``); it reports the exception tagged with the task's
function and name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

FILTERED = "[Filtered]"
EMAIL_MASK = "[email]"
# Keys whose values are secrets wherever they appear (compared lower-case, '-' as '_').
SECRET_KEYS = frozenset({
    "authorization", "proxy_authorization", "http_authorization", "cookie", "cookies", "http_cookie",
    "set_cookie", "sessionid", "session_key", "session", "csrftoken", "csrfmiddlewaretoken",
    "x_csrftoken", "http_x_csrftoken", "csrf_token", "password", "password1", "password2",
    "old_password", "new_password1", "new_password2", "passwd", "secret", "secret_key", "token",
    "api_key", "apikey", "access_token", "refresh_token", "auth_token", "x_api_key", "email",
    "email_address", "dsn",
})
# Key fragments that mark a secret too (``db_password``, ``metrics_token``...).
SECRET_KEY_FRAGMENTS = ("password", "passwd", "secret", "token", "csrf", "sessionid", "cookie", "authorization")
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
BEARER_PATTERN = re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
# ``name=value`` pairs of secret names inside a string (a query string, a cookie header, a repr).
SECRET_PAIR_PATTERN = re.compile(
    r"(?i)\b([A-Za-z_-]*(?:password|passwd|secret|token|csrf|sessionid|api_?key)[A-Za-z0-9_-]*)"
    r"(['\"]?\s*[=:]\s*\[?['\"]?)([^&;,'\"\s\]]+)"
)
# Paths never traced (probes and scrapes would drown the real transactions).
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a secret."""
    if not isinstance(key, str):
        return False
    normalised = key.lower().replace("-", "_")
    return normalised in SECRET_KEYS or any(fragment in normalised for fragment in SECRET_KEY_FRAGMENTS)


def scrub_text(text: str) -> str:
    """Mask email addresses, bearer/basic credentials and ``secret=value`` pairs in a string."""
    text = EMAIL_PATTERN.sub(EMAIL_MASK, text)
    text = BEARER_PATTERN.sub(lambda match: f"{match.group(1)} {FILTERED}", text)
    return SECRET_PAIR_PATTERN.sub(_mask_pair, text)


def _mask_pair(match: re.Match[str]) -> str:
    # Idempotent: a value masked before (breadcrumbs pass the scrubber twice) stays as it is.
    if match.group(3).strip("[]") == FILTERED.strip("[]"):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{FILTERED}"


def scrub(value: Any) -> Any:
    """A copy of ``value`` with secret keys' values replaced and every string scrubbed."""
    if isinstance(value, Mapping):
        return {key: FILTERED if is_secret_key(key) else scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if len(value) == 2 and isinstance(value[0], str) and is_secret_key(value[0]):
            return [value[0], FILTERED]  # a (name, value) header pair
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send`` / ``before_send_transaction``: the event with every secret removed."""
    cleaned = scrub(event)
    request = cleaned.get("request")
    if isinstance(request, dict):
        if "cookies" in request:
            request["cookies"] = FILTERED
        if isinstance(request.get("data"), str):
            request["data"] = scrub_text(request["data"])
    user = cleaned.get("user")
    if isinstance(user, dict):
        cleaned["user"] = {key: item for key, item in user.items() if key in {"id"}}
    return cleaned


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_breadcrumb``: the breadcrumb with every secret removed."""
    return scrub(crumb)


def traces_sampler(rate: float) -> Any:
    """A sampler: ``rate`` for requests and tasks, 0 for probes and scrapes."""

    def sample(context: dict[str, Any]) -> float:
        environ = context.get("wsgi_environ") or {}
        scope = context.get("asgi_scope") or {}
        path = environ.get("PATH_INFO") or scope.get("path")
        if path in UNTRACED_PATHS:
            return 0.0
        parent = context.get("parent_sampled")
        if parent is not None:
            return float(parent)
        return rate

    return sample


def release_name() -> str:
    """``academy@<installed package version>`` (``academy@unknown`` when not installed)."""
    try:
        return f"academy@{version('academy')}"
    except PackageNotFoundError:
        return "academy@unknown"


def init_sentry(
    *, dsn: str, environment: str, release: str | None = None, traces_sample_rate: float = 0.0, **options: Any
) -> None:
    """Start the Sentry SDK with Academy's integrations and scrubbers (``options`` go to
    ``sentry_sdk.init``; tests pass a ``transport``)."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.integrations.redis import RedisIntegration

    # No personal data by default (the SDK default); Django-Q2's monitor logs every failed task as an error; TaskErrorReporter reports the
    # exception itself, with the task's name, so the log line would be a second event.
    ignore_logger("django-q")
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or release_name(),
        integrations=[
            DjangoIntegration(transaction_style="url"),
            RedisIntegration(),
            LoggingIntegration(),
        ],
        traces_sampler=traces_sampler(traces_sample_rate),
        include_local_variables=False,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        **options,
    )


class TaskErrorReporter:
    """Django-Q2 error reporter: the failing task's exception to Sentry, with its name."""

    def __init__(self, **conf: Any) -> None:
        self.conf = conf

    def report(self) -> None:
        """Called by Django-Q2's worker inside the ``except`` block of a failed task."""
        import sentry_sdk

        from academy.logging import current_task

        task = current_task()
        with sentry_sdk.new_scope() as scope:
            if task is not None:
                scope.set_tag("task", task["func"])
                scope.set_tag("task_name", task["name"])
                scope.set_context("task", {"func": task["func"], "name": task["name"], "id": task["id"]})
                scope.transaction = task["func"]
            sentry_sdk.capture_exception()
