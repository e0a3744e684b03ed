"""Benchmark: a class of learners at once, the seed's "500+ concurrent users" (issue 8).

Production settings as ``make run`` starts them (``manage.py run_academy``: one web process per
core and the task worker), PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL`` are set,
the embedded SQLite + file cache otherwise; the demo content plus 100 open courses. The load
generator (``bench/_loadgen.py``, asyncio + aiohttp) runs in its own process on loopback:
anonymous visitors browse catalog -> course -> lesson, 40 logged-in learners read the dashboard,
open and complete lessons and hold ``/ws/progress/`` open; everyone thinks 1-3 s between requests.
Two identical rounds; resident memory of every server process before, after the first and after
the second round.

Targets: with PostgreSQL + Redis, 500 users, 0 errors, p95 <= 500 ms on every endpoint, anonymous
page cache hit rate >= 90%; embedded, 200 users, 0 errors, p95 <= 1 s; memory: no growth between
the two rounds beyond noise (5%).

Run: ``python -m bench.load [--users N] [--seconds S] [--quick]`` (quick: 20 s rounds).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench import ROOT, percentile, print_table
from bench import site as bench_site

LEARNERS = 40
EXTRA_COURSES = 100
LESSONS_PER_COURSE = 3
COURSES_PER_LEARNER = 5
MEMORY_NOISE = 0.05


def run_round(plan: dict[str, Any]) -> dict[str, Any]:
    """One round of the load generator in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "bench._loadgen"], cwd=ROOT, input=json.dumps(plan), capture_output=True,
        text=True, check=True,
    )
    return json.loads(result.stdout)


def main(argv: list[str] | None = None) -> int:
    """Build the site, start it as ``make run`` does, run two rounds, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=None, help="simulated users (500 with services, else 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each round")
    parser.add_argument("--quick", action="store_true", help="20 s rounds")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.seconds = 20.0
    workdir = bench_site.workdir("load")
    env = bench_site.bench_environment(workdir)
    with_services = bool(env.get("DATABASE_URL") and env.get("REDIS_URL"))
    users = opts.users or (500 if with_services else 200)
    p95_target_ms = 500 if with_services else 1000
    print(f"load bench: {bench_site.describe(env)}; {users} users, 2 rounds of {opts.seconds:g} s; data in {workdir}",
          flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    content = bench_site.add_courses(EXTRA_COURSES, lessons=LESSONS_PER_COURSE)
    courses = [course for course in content.courses if course.lesson_ids]
    learners = []
    for n in range(LEARNERS):
        mine = [courses[(n + k) % len(courses)] for k in range(COURSES_PER_LEARNER)]
        secret = bench_site.csrf_secret()
        _user_id, session_key = bench_site.make_learner(f"load-learner-{n}", mine)
        learners.append({
            "cookie": bench_site.session_cookie(session_key, secret),
            "csrf": secret,
            # Lessons they complete with the button (a quiz lesson answers 409 to that, as it should).
            "lessons": [[pk, url] for course in mine
                        for pk, url in zip(course.lesson_ids, course.lesson_urls, strict=True)
                        if pk in course.completable_ids],
        })

    server = bench_site.academy_server(env, workdir, task_worker=True).start()
    plan = {
        "base": server.url,
        "seconds": opts.seconds,
        "visitors": users - LEARNERS,
        "learners": learners,
        "courses": [{"url": c.url, "lesson_urls": c.lesson_urls} for c in content.courses],
        "cache_header": bench_site.CACHE_HEADER,
    }
    memory: list[list[float]] = []
    results: list[dict[str, Any]] = []
    try:
        pids = server.pids()
        names = {pid: bench_site.command_line(pid) for pid in pids}
        memory.append([bench_site.rss_mib(pid) for pid in pids])
        for round_number in (1, 2):
            results.append(run_round(plan))
            memory.append([bench_site.rss_mib(pid) for pid in pids])
            print(f"  round {round_number} done", flush=True)
    finally:
        server.stop()
        bench_site.drop_bench_data(env)

    verdicts: list[list[str]] = []
    for round_number, result in enumerate(results, start=1):
        rows = []
        total = 0
        worst_p95 = 0.0
        errors = 0
        for endpoint in sorted(set(result["latencies"]) | set(result["errors"])):
            values = result["latencies"].get(endpoint, [])
            failed = result["errors"].get(endpoint, 0)
            total += len(values) + failed
            errors += failed
            p95 = percentile(values, 95)
            worst_p95 = max(worst_p95, p95)
            rows.append([endpoint, len(values) + failed, f"{percentile(values, 50):.1f}", f"{p95:.1f}",
                         f"{percentile(values, 99):.1f}", failed, result["error_samples"].get(endpoint, "")])
        cache = result["cache"]
        anonymous = sum(cache.values())
        hit_rate = cache.get("hit", 0) / anonymous if anonymous else 0.0
        print_table(
            f"Round {round_number}: {users} users, {result['elapsed']:.0f} s, {total / result['elapsed']:.1f} req/s, "
            f"anonymous page cache hit rate {hit_rate:.1%} ({dict(cache)}), "
            f"sockets: {result['ws_frames']} frames, {result['ws_failed']} drops",
            ["endpoint", "requests", "p50 ms", "p95 ms", "p99 ms", "errors", "first error"],
            rows,
        )
        ok = errors == 0 and result["ws_failed"] == 0
        verdicts.append([f"round {round_number}: errors (HTTP + socket drops)", str(errors + result["ws_failed"]), "0",
                         "met" if ok else "NOT met"])
        verdicts.append([f"round {round_number}: worst endpoint p95 (ms)", f"{worst_p95:.0f}", f"<= {p95_target_ms}",
                         "met" if worst_p95 <= p95_target_ms else "NOT met"])
        verdicts.append([f"round {round_number}: anonymous page cache hit rate", f"{hit_rate:.1%}", ">= 90%",
                         "met" if hit_rate >= 0.9 else "NOT met"])
    print_table(
        "Resident memory of each server process (MiB)",
        ["process", "before", "after round 1", "after round 2", "round 2 / round 1"],
        [[bench_site.process_label(pid, names), f"{before:.0f}", f"{first:.0f}", f"{second:.0f}",
          f"{second / first:.3f}" if first and second else "recycled"]
         for pid, before, first, second in zip(pids, *memory, strict=True)],
    )
    # Task workers that the cluster recycled (Django-Q2's ``recycle``) between two readings are
    # left out: a process that is gone neither grew nor shrank.
    alive = [(first, second) for first, second in zip(memory[1], memory[2], strict=True) if first and second]
    first_total, second_total = sum(first for first, _ in alive), sum(second for _, second in alive)
    growth = second_total / first_total - 1 if first_total else 0.0
    verdicts.append(["memory growth, round 2 vs round 1 (processes alive in both)", f"{growth:+.1%}", f"<= {MEMORY_NOISE:.0%}",
                     "met" if growth <= MEMORY_NOISE else "NOT met"])
    print_table("Targets", ["measure", "value", "target", "verdict"], verdicts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
