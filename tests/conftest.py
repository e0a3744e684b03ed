"""Suite-wide fixtures and the rules for service-backed tests.

Tests marked ``postgres`` or ``redis`` need the real server named by ``DATABASE_URL`` /
``REDIS_URL``. Without it they are skipped with a clear reason, unless
``ACADEMY_REQUIRE_SERVICES=1`` (set by ``.ci/run``), which turns every such skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache

REQUIRE_SERVICES = os.environ.get("ACADEMY_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def _service_missing(marker: str) -> str | None:
    """The reason a service marked test cannot run here, or None when it can."""
    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, in CI, fail) tests whose service is not configured."""
    for marker in ("postgres", "redis"):
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


@pytest.fixture(autouse=True)
def _isolated_cache() -> Iterator[None]:
    """Every test starts and ends with an empty cache (the cache is shared across processes)."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture(autouse=True)
def _media_root(tmp_path_factory: pytest.TempPathFactory, settings: object) -> None:
    """Uploaded files of a test go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))  # type: ignore[attr-defined]
