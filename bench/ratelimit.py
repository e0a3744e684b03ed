"""Benchmark: the cost of one rate-limit check (issue 9), per store, against floors measured in
the same run: a raw Redis PING round trip, and DRF's stock throttle on the same cache.

Rows: our limiter on Redis (one EVALSHA), on the embedded SQLite file, and DRF's
``SimpleRateThrottle`` (cache get + set, not atomic) on Django's cache. The ratio printed is our
Redis check over a bare PING: what the script costs beyond the network round trip. Redis rows
need ``REDIS_URL``; everything runs under its own key prefix and data directory.

Run: ``python -m bench.ratelimit [--checks N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from bench import percentile, print_table


def _measure(fn: Callable[[], object], n: int) -> list[float]:
    """Milliseconds of each of ``n`` calls (after a short warm-up)."""
    for _ in range(min(50, n)):
        fn()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=2000)
    opts = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="academy-bench-ratelimit-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siteconfig.settings")
    os.environ["ACADEMY_DATA_DIR"] = workdir
    os.environ["ACADEMY_CACHE_PREFIX"] = f"bench{uuid.uuid4().hex[:8]}"
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.test import RequestFactory, override_settings
    from rest_framework.throttling import SimpleRateThrottle

    from academy import ratelimit

    class StockThrottle(SimpleRateThrottle):
        rate = "1000000/hour"

        def get_cache_key(self, request: object, view: object) -> str:
            return "bench-stock-throttle"

    request = RequestFactory().get("/")
    limit = ratelimit.Limit("bench", "203.0.113.1", ratelimit.Rate.parse("1000000/1h"))
    rows = []
    redis_url = os.environ.get("REDIS_URL", "")
    ping_p50 = None
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        ping = _measure(client.ping, opts.checks)
        ping_p50 = percentile(ping, 50)
        rows.append(("raw Redis PING", f"{ping_p50:.3f}", f"{percentile(ping, 99):.3f}"))
        with override_settings(RATELIMIT_REDIS_URL=redis_url):
            ours = _measure(lambda: ratelimit.check([limit], door="api"), opts.checks)
            ratelimit.reset()
        rows.append(("limiter check, Redis (Lua)", f"{percentile(ours, 50):.3f}", f"{percentile(ours, 99):.3f}"))
    with override_settings(RATELIMIT_REDIS_URL=""):
        local = _measure(lambda: ratelimit.check([limit], door="api"), opts.checks)
        ratelimit.reset()
    rows.append(("limiter check, embedded SQLite", f"{percentile(local, 50):.3f}", f"{percentile(local, 99):.3f}"))
    # DRF keeps one timestamp per request in a single cache entry: fewer checks keep it small.
    stock = _measure(lambda: StockThrottle().allow_request(request, None), min(opts.checks, 500))
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    rows.append((f"DRF SimpleRateThrottle, {backend}", f"{percentile(stock, 50):.3f}", f"{percentile(stock, 99):.3f}"))

    print_table(f"One rate-limit check ({opts.checks} sequential checks, ms)", ["what", "p50", "p99"], rows)
    if ping_p50:
        print(f"\nratio: limiter check on Redis / raw PING at p50 = {percentile(ours, 50) / ping_p50:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
