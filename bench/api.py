"""Benchmark: the REST API's course list and enrollment list at 10 and at 500 items, beside the
trivial view in the same server and the same run (issue 12).

Production settings (``DJANGO_DEBUG=0``; PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL``
are set), one ``run_academy`` web process, wrk on loopback with one connection (p50, p99) and
ten (req/s). The caller is a learner with a personal access token, enrolled in every course.
Throttle rates are raised for the run (the bench measures the API, not the throttle). Lists are
read as a client reads them: the first page (20 items) and a page of 100 (the largest).

Target: list at 500 items / at 10, p50 <= 3, for the first page (the query count is the same at
any length: tests/learning/api/test_queries.py).

Run: ``python -m bench.api [--seconds 3] [--quick]``. Needs wrk (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import sys

from bench import print_table
from bench import site as bench_site
from bench.site import TRIVIAL_PATH, WrkResult, wrk

THROUGHPUT_CONNECTIONS = 10
SIZES = (10, 500)
HIGH_RATE = "100000000/hour"
TARGET_RATIO = 3.0


def make_token(user_id: int) -> str:
    """A personal access token of the learner."""
    from django.contrib.auth import get_user_model

    from learning import tokens

    return tokens.token_create(user=get_user_model().objects.get(pk=user_id), name="bench").secret


def main(argv: list[str] | None = None) -> int:
    """Build the site at 10 then 500 courses, measure both lists at each size, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each wrk run")
    parser.add_argument("--quick", action="store_true", help="2 s runs")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.seconds = 2.0
    if not bench_site.has_wrk():
        print("api bench skipped: it needs wrk (apt-get install wrk)")
        return 0
    workdir = bench_site.workdir("api")
    env = bench_site.bench_environment(workdir)
    for scope in ("ANON", "USER", "ENROLLMENTS", "PROGRESS", "NOTIFICATIONS"):
        env[f"ACADEMY_THROTTLE_{scope}"] = HIGH_RATE
    print(f"api bench: {bench_site.describe(env)}; data in {workdir}", flush=True)
    bench_site.setup_django(env)
    content = bench_site.seed_demo()

    academy = bench_site.academy_server(env, workdir, workers=1).start()
    rows: list[list[str]] = []
    first_pages: dict[tuple[str, int], WrkResult] = {}
    errors = 0

    def measure(name: str, url: str, headers: dict[str, str]) -> WrkResult:
        nonlocal errors
        single = wrk(url, connections=1, seconds=opts.seconds, headers=headers)
        loaded = wrk(url, connections=THROUGHPUT_CONNECTIONS, seconds=opts.seconds, headers=headers)
        errors += single.errors + loaded.errors
        rows.append([name, f"{single.p50_ms:.2f}", f"{single.p99_ms:.2f}", f"{loaded.rps:.0f}",
                     f"{single.p50_ms / base.p50_ms:.1f}x" if name != "trivial view" else "1.0x"])
        print(f"  measured {name}", flush=True)
        return single

    try:
        base = wrk(f"{academy.url}{TRIVIAL_PATH}", connections=1, seconds=opts.seconds)  # warm-up
        base = measure("trivial view", f"{academy.url}{TRIVIAL_PATH}", {})
        for size in SIZES:
            content = bench_site.add_courses(size - content.course_count, lessons=1)
            user_id, _session = bench_site.make_learner(f"api-learner-{size}", content.courses[:size])
            headers = {"Authorization": f"Bearer {make_token(user_id)}"}
            for kind in ("courses", "enrollments"):
                url = f"{academy.url}/api/v1/{kind}/"
                first_pages[(kind, size)] = measure(f"{kind} list at {size}, first page", url, headers)
                if size > 100:
                    measure(f"{kind} list at {size}, page of 100", f"{url}?page_size=100", headers)
        base_again = wrk(f"{academy.url}{TRIVIAL_PATH}", connections=1, seconds=opts.seconds)
    finally:
        academy.stop()
        bench_site.drop_bench_data(env)

    print_table(
        f"API lists (p50/p99: 1 connection; req/s: {THROUGHPUT_CONNECTIONS} connections; {opts.seconds:g} s each)",
        ["request", "p50 ms", "p99 ms", "req/s", "p50 vs trivial"],
        rows,
    )
    targets = []
    for kind in ("courses", "enrollments"):
        ratio = first_pages[(kind, SIZES[1])].p50_ms / first_pages[(kind, SIZES[0])].p50_ms
        targets.append([f"{kind} list at {SIZES[1]} / at {SIZES[0]} (p50, first page)", f"{ratio:.2f}",
                        f"<= {TARGET_RATIO:g}", "met" if ratio <= TARGET_RATIO else "NOT met"])
    targets.append(["errors (every run above)", str(errors), "<= 0", "met" if errors == 0 else "NOT met"])
    print_table("Targets", ["measure", "value", "target", "verdict"], targets)
    print(f"\ntrivial view p50 at the start / the end: {base.p50_ms:.2f} / {base_again.p50_ms:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
