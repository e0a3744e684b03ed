"""Give each pytest-xdist worker its own copy of everything the suite shares between processes.

Loaded with ``-p tests.worker_isolation`` (pyproject's addopts), so it runs before pytest-django
reads the settings. In a worker (``PYTEST_XDIST_WORKER=gw<N>``) it points ``ACADEMY_DATA_DIR``
(the SQLite test database, the file cache, the embedded limiter's file) at a folder of that
worker's own and every Redis URL at database ``base + N + 1`` of the same server, so the cache, the
channel layer, the task broker and the rate limits of one worker never meet another's. The
servers and workers a test starts inherit these variables. pytest-django already gives each
worker its own PostgreSQL test database. Without xdist it does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Redis has 16 databases by default: the URL's own stays the plain run's, the next ones go to workers.
REDIS_DATABASES = 16


def worker_number() -> int | None:
    """This process's xdist worker number (``gw3`` → 3), or None outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else None


def redis_url_for_worker(url: str, number: int) -> str:
    """``url`` moved from its database ``base`` to ``base + number + 1`` (``base`` is left to plain runs)."""
    parts = urlsplit(url)
    base = parts.path.strip("/")
    database = (int(base) if base.isdigit() else 0) + number + 1
    if database >= REDIS_DATABASES:
        raise RuntimeError(f"Redis database {database} does not exist: use fewer xdist workers or a lower base")
    return urlunsplit(parts._replace(path=f"/{database}"))


def _isolate() -> None:
    number = worker_number()
    if number is None:
        return
    base = Path(os.environ.get("ACADEMY_DATA_DIR") or Path(__file__).resolve().parent.parent / "var")
    data_dir = base / f"xdist-gw{number}"
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["ACADEMY_DATA_DIR"] = str(data_dir)
    for name in ("REDIS_URL", "ACADEMY_LIMIT_REDIS_URL"):
        if os.environ.get(name):
            os.environ[name] = redis_url_for_worker(os.environ[name], number)


_isolate()
