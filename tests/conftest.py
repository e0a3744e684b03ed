"""Suite-wide fixtures and the rules for service-backed tests.

Tests marked ``postgres`` or ``redis`` need the real server named by ``DATABASE_URL`` /
``REDIS_URL``; tests marked ``browser`` need Debian's Chromium (``CHROMIUM``). Without it they are skipped with a clear reason, unless
``ACADEMY_REQUIRE_SERVICES=1`` (set by ``.ci/run``), which turns every such skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

CHROMIUM = os.environ.get("ACADEMY_CHROMIUM", "/usr/bin/chromium")
REQUIRE_SERVICES = os.environ.get("ACADEMY_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def _service_missing(marker: str) -> str | None:
    """The reason a service marked test cannot run here, or None when it can."""
    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "browser" and not Path(CHROMIUM).exists():
        return f"needs Chromium at {CHROMIUM} (Debian package chromium)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every transactional test a serialized rollback.

    A transactional test empties the database when it ends. With serialized rollback the rows
    that migrations created (content types, Wagtail's root page and locale) are restored for the
    next one, with the same ids; without it, post_migrate recreates the content types under new
    ids and a later test trips over stale ids or duplicates. One rule for all: mixing the two
    kinds fails on PostgreSQL.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        marker = item.get_closest_marker("django_db")
        transactional = "transactional_db" in names or "live_server" in names or bool(
            marker and marker.kwargs.get("transaction")
        )
        if transactional and "django_db_serialized_rollback" not in names:
            names.append("django_db_serialized_rollback")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, in CI, fail) tests whose service is not configured."""
    for marker in ("postgres", "redis", "browser"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _service_missing(marker)
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"ACADEMY_REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
        pytest.skip(reason)


def _clear_cache() -> None:
    # On Redis, delete only the cache's own keys: FLUSHDB would also wipe the channel layer's
    # and the task broker's keys that a server started by a test may be using.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    # And this process's copies of generation-keyed values (academy.generations).
    from academy.generations import clear_local

    clear_local()


@pytest.fixture(autouse=True)
def _isolated_cache() -> Iterator[None]:
    """Every test starts and ends with an empty cache (the cache is shared across processes)."""
    _clear_cache()
    yield
    _clear_cache()


def _reset_rate_limits() -> None:
    from academy import ratelimit

    with contextlib.suppress(ratelimit.LimiterUnavailable):
        ratelimit.reset()


@pytest.fixture(autouse=True)
def _isolated_rate_limits() -> Iterator[None]:
    """Every test starts and ends with empty rate-limit windows (also shared across processes)."""
    _reset_rate_limits()
    yield
    _reset_rate_limits()


@pytest.fixture(autouse=True)
def _checked_events(settings: object) -> None:
    """Every domain event sent in a test is checked against its payload's TypedDict (a wrong
    payload fails the test), in this process and in the servers and workers it starts."""
    settings.ACADEMY_CHECK_EVENTS = True  # type: ignore[attr-defined]
    os.environ["ACADEMY_CHECK_EVENTS"] = "1"


@pytest.fixture(autouse=True)
def _media_root(tmp_path_factory: pytest.TempPathFactory, settings: object) -> None:
    """Uploaded files of a test go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))  # type: ignore[attr-defined]
