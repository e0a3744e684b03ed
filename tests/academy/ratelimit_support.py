"""Shared parts of the rate-limit tests: the store under test, a dead address, a private Redis
that keeps its data across a restart."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.realtime.support import PrivateRedis, free_port, wait_port

# Stores the limiter can run on: the embedded SQLite file, and Redis when REDIS_URL is set.
STORES = ["local", pytest.param("redis", marks=pytest.mark.redis)]


def use_store(kind: str, settings: Any, tmp_path: Path) -> str:
    """Point the limiter at ``kind`` with a key prefix of this test's own; returns the prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}:rl"
    settings.RATELIMIT_KEY_PREFIX = prefix
    if kind == "redis":
        settings.RATELIMIT_REDIS_URL = django_settings.REDIS_URL
    else:
        settings.RATELIMIT_REDIS_URL = ""
        settings.RATELIMIT_LOCAL_PATH = tmp_path / "ratelimit.sqlite3"
    return prefix


def dead_redis_url() -> str:
    """A Redis URL on a loopback port where nothing listens (connection refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/0"


class PersistentRedis(PrivateRedis):
    """A private redis-server that writes an append-only file, so a restart keeps the data
    (compose.yaml runs Redis the same way)."""

    def start(self) -> PersistentRedis:
        """Start (again, on the same port and files) and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        log = self.workdir / "redis.log"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.workdir)],
            stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.process, log)
        return self


__all__ = ["STORES", "PersistentRedis", "PrivateRedis", "dead_redis_url", "use_store"]
