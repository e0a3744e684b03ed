"""Benchmark: a class at once, the seed's "500+ concurrent users" (issues 8 and 20).

Production settings as ``make run`` starts them (``manage.py run_academy``: one web process per
core and the task worker), PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL`` are set,
the embedded SQLite + file cache otherwise; the demo content plus 100 open courses.

Scenario (the class): ``--users`` simulated users, ``--learners`` of them logged in. Learners are
made directly (users, enrollments in 5 courses each, login sessions in the database and the
cache: ``bench.site.make_learners``), not through the sign-up form, which is rate-limited. Each
learner reads the dashboard, opens a lesson of theirs, completes it, and so on, holding
``/ws/progress/`` open the whole time; the other users are anonymous visitors browsing catalog
-> course -> lesson; everyone thinks 1-3 s between requests. The load generator
(``bench/_loadgen.py``, asyncio + aiohttp) runs in processes of its own on loopback, one per
1,000 users (``--generators`` overrides); each reports the CPU it used and how late its event
loop woke up, so a saturated client is told apart from a slow server.

Measuring starts once every web process runs and the task worker has run the tasks the setup
queued (search and reference index updates) and is idle. Two identical rounds; per endpoint: requests,
p50/p95/p99, errors (503s, the admission gate's refusals, apart from the rest) and the first
error; req/s; socket frames and drops; resident memory of every server process before, after
round 1 and after round 2.

Targets (issue 20, this 2-core machine class): with PostgreSQL + Redis, 500 users of whom 250
learners (the default), 0 errors (503s included), p95 <= 500 ms on every endpoint; embedded, 200
users of whom 100 learners (the default), 0 errors, p95 <= 1 s; the large round (``--large``:
2,000 users, 500 learners) 0 errors, p95 <= 1 s; memory flat between the rounds (<= 5% growth);
anonymous page cache hit rate >= 90% (issue 8).

``--scale``: the same class mix with as many users (a fixed offered load; a new class of
learners each time, the anonymous page cache warmed once before) against 1, 2 and 4 web
processes in turn (``run_academy --workers``), one round each (30 s); a table of req/s sent and
served, p50/p95, errors and the CPU the web processes, the task worker and the load generator
used: how throughput grows with processes on one machine (docs/deploy.md, section 10).

Run: ``python -m bench.load [--users N] [--learners N] [--seconds S] [--quick] [--large]
[--generators N] [--scale]`` (quick: 20 s rounds, 10 s per ``--scale`` configuration).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import ROOT, percentile, print_table
from bench import site as bench_site

EXTRA_COURSES = 100
LESSONS_PER_COURSE = 3
COURSES_PER_LEARNER = 5
MEMORY_NOISE = 0.05
# The rounds: users with services / embedded; half of them learners.
USERS_WITH_SERVICES = 500
USERS_EMBEDDED = 200
LARGE_USERS = 2000
LARGE_LEARNERS = 500
P95_TARGET_MS = 500
# Embedded mode and the large round.
P95_RELAXED_TARGET_MS = 1000
CACHE_HIT_TARGET = 0.9
# One load generator process per this many simulated users (by default).
USERS_PER_GENERATOR = 1000
# A generator busier than this (share of one core), or whose loop wakes up this late (p99),
# adds its own delay to the latencies it measures.
GENERATOR_CPU_LIMIT = 0.8
GENERATOR_LAG_LIMIT_MS = 50.0
SCALE_PROCESSES = (1, 2, 4)
SCALE_SECONDS = 30.0
QUICK_ROUND_SECONDS = 20.0
QUICK_SCALE_SECONDS = 10.0
WARM_THREADS = 8
# The task worker counts as idle below this CPU (cores) over a window of this many seconds.
IDLE_CORES = 0.05
IDLE_WINDOW_SECONDS = 1.0
IDLE_PATIENCE_SECONDS = 120.0


# --- the class -------------------------------------------------------------------------------


def make_class(courses: list[bench_site.Course], count: int, *, prefix: str = "load-learner") -> list[dict[str, Any]]:
    """``count`` learners, each actively enrolled in 5 courses (in turn around those of ``courses``
    with a lesson to complete; fewer when there are fewer) and logged in; what the load generator needs of each (cookie, CSRF secret, their lessons)."""
    completable = [course for course in courses if course.completable_ids]
    each = min(COURSES_PER_LEARNER, len(completable))
    wanted = [
        (f"{prefix}-{n}", [completable[(n + k) % len(completable)] for k in range(each)])
        for n in range(count)
    ]
    made = bench_site.make_learners(wanted)
    learners = []
    for (_username, mine), (_user_id, session_key) in zip(wanted, made, strict=True):
        secret = bench_site.csrf_secret()
        learners.append({
            "cookie": bench_site.session_cookie(session_key, secret),
            "csrf": secret,
            # Lessons they complete with the button (a quiz lesson answers 409 to that, as it should).
            "lessons": [[pk, url] for course in mine
                        for pk, url in zip(course.lesson_ids, course.lesson_urls, strict=True)
                        if pk in course.completable_ids],
        })
    return learners


# --- the load generators ---------------------------------------------------------------------


def split_plan(plan: dict[str, Any], generators: int) -> list[dict[str, Any]]:
    """The plan of each of ``generators`` processes: visitors shared out evenly, learners dealt
    in turn; generators left without a user are dropped."""
    parts = []
    for index in range(generators):
        visitors = plan["visitors"] // generators + (1 if index < plan["visitors"] % generators else 0)
        learners = plan["learners"][index::generators]
        if visitors or learners:
            parts.append({**plan, "visitors": visitors, "learners": learners})
    return parts


def merge_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One round's figures from its generators' (latencies pooled, counts summed), with each
    generator's own load under ``generators``."""
    merged: dict[str, Any] = {
        "elapsed": max(result["elapsed"] for result in results),
        "latencies": defaultdict(list), "errors": defaultdict(int), "refused": defaultdict(int),
        "error_samples": {}, "cache": defaultdict(int), "ws_failed": 0, "ws_frames": 0, "generators": [],
    }
    for result in results:
        for endpoint, values in result["latencies"].items():
            merged["latencies"][endpoint].extend(values)
        for key in ("errors", "refused", "cache"):
            for name, count in result[key].items():
                merged[key][name] += count
        for endpoint, sample in result["error_samples"].items():
            merged["error_samples"].setdefault(endpoint, sample)
        merged["ws_failed"] += result["ws_failed"]
        merged["ws_frames"] += result["ws_frames"]
        merged["generators"].append({
            "cpu_share": result["cpu_seconds"] / result["elapsed"] if result["elapsed"] else 0.0,
            "lag_p99_ms": percentile(result["loop_lag_ms"], 99) if result["loop_lag_ms"] else 0.0,
        })
    return merged


def run_round(plan: dict[str, Any], generators: int, workdir: Path) -> dict[str, Any]:
    """One round: ``generators`` load generator processes at once, their figures merged."""
    children = []
    for index, part in enumerate(split_plan(plan, generators)):
        # Plan, result and log are files, not pipes: every generator has its whole plan at once
        # (so all start together), and none waits on a full pipe while another is being read.
        plan_path, result_path, log_path = (workdir / f"loadgen-{index}.{ext}" for ext in ("plan", "json", "log"))
        plan_path.write_text(json.dumps(part))
        with plan_path.open() as plan_file, result_path.open("w") as out, log_path.open("w") as log:
            child = subprocess.Popen([sys.executable, "-m", "bench._loadgen"], cwd=ROOT, stdin=plan_file,
                                     stdout=out, stderr=log)
        children.append((child, result_path, log_path))
    results = []
    for child, result_path, log_path in children:
        if child.wait() != 0:
            raise RuntimeError(f"load generator failed ({child.returncode}): {log_path.read_text()[-2000:]}")
        results.append(json.loads(result_path.read_text()))
    return merge_results(results)


def generators_for(users: int, requested: int | None) -> int:
    """Load generator processes for ``users``: as asked, else one per 1,000 users."""
    return requested or max(1, math.ceil(users / USERS_PER_GENERATOR))


# --- reading a round -------------------------------------------------------------------------


def endpoint_rows(result: dict[str, Any]) -> tuple[list[list[object]], dict[str, float]]:
    """The per-endpoint table and the round's totals (requests, errors, 503s, worst p95)."""
    rows: list[list[object]] = []
    totals = {"requests": 0, "served": 0, "errors": 0, "refused": 0, "worst_p95": 0.0}
    for endpoint in sorted(set(result["latencies"]) | set(result["errors"])):
        values = result["latencies"].get(endpoint, [])
        failed = result["errors"].get(endpoint, 0)
        refused = result["refused"].get(endpoint, 0)
        totals["requests"] += len(values) + failed
        totals["served"] += len(values)
        totals["errors"] += failed
        totals["refused"] += refused
        p95 = percentile(values, 95)
        if values:
            totals["worst_p95"] = max(totals["worst_p95"], p95)
        rows.append([endpoint, len(values) + failed, f"{percentile(values, 50):.1f}", f"{p95:.1f}",
                     f"{percentile(values, 99):.1f}", refused, failed - refused,
                     result["error_samples"].get(endpoint, "")])
    return rows, totals


ENDPOINT_HEADERS = ["endpoint", "requests", "p50 ms", "p95 ms", "p99 ms", "errors: 503", "errors: other",
                    "first error"]


def generator_summary(result: dict[str, Any]) -> str:
    """Each generator's CPU (share of one core) and event loop lag (p99)."""
    return ", ".join(f"{g['cpu_share']:.0%} CPU / lag p99 {g['lag_p99_ms']:.0f} ms" for g in result["generators"])


def generator_ok(result: dict[str, Any]) -> bool:
    """Whether no generator was busy enough to add delays of its own."""
    return all(g["cpu_share"] <= GENERATOR_CPU_LIMIT and g["lag_p99_ms"] <= GENERATOR_LAG_LIMIT_MS
               for g in result["generators"])


def memory_ratio(first: float, second: float) -> str:
    """Round 2 against round 1 for one process; a task worker the cluster recycled (Django-Q2's
    ``recycle``) is gone after round 2 or new in it."""
    if first and second:
        return f"{second / first:.3f}"
    return "recycled (gone)" if first else "new in round 2"


def met(ok: bool) -> str:
    """The verdict column."""
    return "met" if ok else "NOT met"


def warm_pages(base: str, plan: dict[str, Any]) -> None:
    """Fetch every anonymous page once (the shared page cache then starts warm for every
    configuration of ``--scale`` alike)."""
    urls = ["/courses/", "/courses/?page=2"]
    for course in plan["courses"]:
        urls += [course["url"], *course["lesson_urls"]]

    def fetch(path: str) -> None:
        try:
            with urllib.request.urlopen(base + path, timeout=30) as response:
                response.read()
        except OSError:
            pass  # the measured rounds count errors; the warm-up only fills the cache

    with ThreadPoolExecutor(WARM_THREADS) as pool:
        list(pool.map(fetch, urls))


def settle_task_worker(server: bench_site.Server) -> None:
    """Wait until the task worker has run what the setup queued and is idle (the cluster's
    monitor saves each task's result after the queue is empty, hundreds of writes); say how long
    that took."""
    waiting, seconds = bench_site.drain_task_queue()
    started = time.monotonic()
    while time.monotonic() - started < IDLE_PATIENCE_SECONDS:
        pids = server.pids()
        before = {pid: bench_site.cpu_seconds(pid) for pid in pids}
        time.sleep(IDLE_WINDOW_SECONDS)
        if cpu_by_role(before, pids)["tasks"] / IDLE_WINDOW_SECONDS < IDLE_CORES:
            break
    print(f"  task worker settled before measuring: {waiting} task(s) queued by the setup, "
          f"{seconds + time.monotonic() - started:.0f} s", flush=True)


def role_of(pid: int, server_pids: set[int]) -> str:
    """``web``, ``tasks`` or ``supervisor``: the nearest of the server's processes (the process
    itself, then its parents) that runs uvicorn or the task cluster decides."""
    seen = pid
    while seen in server_pids:
        command = bench_site.command_line(seen)
        if "uvicorn" in command:
            return "web"
        if "qcluster" in command:
            return "tasks"
        seen = bench_site.parent_of(seen)
    return "supervisor"


def cpu_by_role(before: dict[int, float], pids: list[int]) -> dict[str, float]:
    """CPU seconds each part of the server used since ``before`` (processes that started since
    count from zero; processes that ended are lost, which only the recycled task workers do)."""
    used: dict[str, float] = defaultdict(float)
    for pid in pids:
        used[role_of(pid, set(pids))] += max(0.0, bench_site.cpu_seconds(pid) - before.get(pid, 0.0))
    return used


# --- the two modes ---------------------------------------------------------------------------


def rounds(opts: argparse.Namespace, env: dict[str, str], workdir: Path, plan: dict[str, Any],
           p95_target_ms: int) -> int:
    """Two identical rounds against one server as ``make run`` starts it; the tables."""
    server = bench_site.academy_server(env, workdir, task_worker=True).start()
    plan = {**plan, "base": server.url}
    generators = generators_for(opts.users, opts.generators)
    checkpoints: list[dict[int, float]] = []
    names: dict[int, str] = {}
    results: list[dict[str, Any]] = []

    def read_memory() -> None:
        pids = server.pids()
        names.update({pid: bench_site.command_line(pid) for pid in pids if pid not in names})
        checkpoints.append({pid: bench_site.rss_mib(pid) for pid in pids})

    try:
        server.wait_for_processes(bench_site.web_worker_default(env))
        settle_task_worker(server)
        read_memory()
        for round_number in (1, 2):
            results.append(run_round(plan, generators, workdir))
            read_memory()
            print(f"  round {round_number} done", flush=True)
    finally:
        server.stop()
        bench_site.drop_bench_data(env)

    verdicts: list[list[str]] = []
    for round_number, result in enumerate(results, start=1):
        rows, totals = endpoint_rows(result)
        cache = result["cache"]
        anonymous = sum(cache.values())
        hit_rate = cache.get("hit", 0) / anonymous if anonymous else 0.0
        print_table(
            f"Round {round_number}: {opts.users} users ({opts.learners} learners), {result['elapsed']:.0f} s, "
            f"{totals['requests'] / result['elapsed']:.1f} req/s ({totals['served'] / result['elapsed']:.1f} served), "
            f"anonymous page cache hit rate {hit_rate:.1%} ({dict(cache)}), "
            f"sockets: {result['ws_frames']} frames, {result['ws_failed']} drops; "
            f"load generators: {generator_summary(result)}",
            ENDPOINT_HEADERS, rows,
        )
        errors = int(totals["errors"]) + result["ws_failed"]
        verdicts.append([f"round {round_number}: errors (503 / other HTTP / socket drops)",
                         f"{errors} ({int(totals['refused'])} / {int(totals['errors'] - totals['refused'])} / "
                         f"{result['ws_failed']})", "0", met(errors == 0)])
        verdicts.append([f"round {round_number}: worst endpoint p95 (ms)", f"{totals['worst_p95']:.0f}",
                         f"<= {p95_target_ms}", met(totals["worst_p95"] <= p95_target_ms)])
        verdicts.append([f"round {round_number}: anonymous page cache hit rate", f"{hit_rate:.1%}",
                         f">= {CACHE_HIT_TARGET:.0%}", met(hit_rate >= CACHE_HIT_TARGET)])
        verdicts.append([f"round {round_number}: load generators kept up (CPU of a core, loop lag p99)",
                         generator_summary(result),
                         f"<= {GENERATOR_CPU_LIMIT:.0%}, <= {GENERATOR_LAG_LIMIT_MS:.0f} ms", met(generator_ok(result))])
    pids = sorted(set().union(*checkpoints))
    print_table(
        "Resident memory of each server process (MiB; - = not running then)",
        ["process", "before", "after round 1", "after round 2", "round 2 / round 1"],
        [[bench_site.process_label(pid, names),
          *[f"{point[pid]:.0f}" if point.get(pid) else "-" for point in checkpoints],
          memory_ratio(checkpoints[1].get(pid, 0.0), checkpoints[2].get(pid, 0.0))]
         for pid in pids],
    )
    # Task workers that the cluster recycled (Django-Q2's ``recycle``) between two readings are
    # left out: a process that is gone neither grew nor shrank.
    alive = [pid for pid in pids if checkpoints[1].get(pid) and checkpoints[2].get(pid)]
    first_total = sum(checkpoints[1][pid] for pid in alive)
    second_total = sum(checkpoints[2][pid] for pid in alive)
    growth = second_total / first_total - 1 if first_total else 0.0
    verdicts.append(["memory growth, round 2 vs round 1 (processes alive in both)", f"{growth:+.1%}",
                     f"<= {MEMORY_NOISE:.0%}", met(growth <= MEMORY_NOISE)])
    print_table("Targets", ["measure", "value", "target", "verdict"], verdicts)
    return 0


def scale(opts: argparse.Namespace, env: dict[str, str], workdir: Path, plan: dict[str, Any],
          courses: list[bench_site.Course]) -> int:
    """The same class mix against 1, 2 and 4 web processes in turn; the scaling table.

    Each configuration gets a class of its own (as many learners, new to the site): learners
    of an earlier one would complete lessons already complete, which costs less (no progress
    change, no task for the worker) and would favour the later configurations.
    """
    generators = generators_for(opts.users, opts.generators)
    rows: list[list[object]] = []
    served_by_one = 0.0
    try:
        for processes in SCALE_PROCESSES:
            plan = {**plan, "learners": make_class(courses, opts.learners, prefix=f"scale{processes}-learner")}
            server = bench_site.academy_server(env, workdir, workers=processes, task_worker=True,
                                               name=f"academy-{processes}").start()
            try:
                server.wait_for_processes(processes)
                if processes == SCALE_PROCESSES[0]:
                    settle_task_worker(server)
                    started = time.monotonic()
                    warm_pages(server.url, plan)
                    print(f"  page cache warmed in {time.monotonic() - started:.0f} s", flush=True)
                # Read now, not at start: the drain may have recycled task workers meanwhile.
                before = {pid: bench_site.cpu_seconds(pid) for pid in server.pids()}
                result = run_round({**plan, "base": server.url}, generators, workdir)
                cpu = cpu_by_role(before, server.pids())
            finally:
                server.stop()
            _rows, totals = endpoint_rows(result)
            all_values = [value for values in result["latencies"].values() for value in values]
            served = totals["served"] / result["elapsed"]
            served_by_one = served_by_one or served
            generator_cpu = sum(g["cpu_share"] for g in result["generators"])
            rows.append([
                processes, f"{totals['requests'] / result['elapsed']:.0f}", f"{served:.0f}",
                f"{served / served_by_one:.2f}x", f"{percentile(all_values, 50):.0f}",
                f"{percentile(all_values, 95):.0f}", f"{totals['worst_p95']:.0f}",
                f"{int(totals['refused'])} / {int(totals['errors'] - totals['refused'])} / {result['ws_failed']}",
                f"{cpu['web'] / result['elapsed']:.2f}", f"{cpu['tasks'] / result['elapsed']:.2f}",
                f"{generator_cpu:.2f}" + ("" if generator_ok(result) else
                                          f" (loop lag p99 {max(g['lag_p99_ms'] for g in result['generators']):.0f} ms)"),
            ])
            print(f"  {processes} web process(es) done", flush=True)
    finally:
        bench_site.drop_bench_data(env)
    print_table(
        f"Scaling out on one machine: {opts.users} users ({opts.learners} learners, the class mix), "
        f"{opts.seconds:g} s per configuration; CPU in cores ({bench_site.usable_cores()} on this machine)",
        ["web processes", "req/s sent", "req/s served", "served vs 1", "p50 ms", "p95 ms", "worst endpoint p95 ms",
         "errors 503 / other / socket drops", "web CPU", "task worker CPU", "load generator CPU"],
        rows,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Build the site and the class, then run the rounds (or ``--scale``); print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=None,
                        help=f"simulated users ({USERS_WITH_SERVICES} with services, else {USERS_EMBEDDED})")
    parser.add_argument("--learners", type=int, default=None, help="of them logged-in learners (default: half)")
    parser.add_argument("--large", action="store_true",
                        help=f"the large round: {LARGE_USERS} users, {LARGE_LEARNERS} learners, p95 target 1 s")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"length of each round (default 60; {SCALE_SECONDS:g} per --scale configuration)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ROUND_SECONDS:g} s rounds ({QUICK_SCALE_SECONDS:g} s with --scale)")
    parser.add_argument("--generators", type=int, default=None,
                        help=f"load generator processes (default: one per {USERS_PER_GENERATOR} users)")
    parser.add_argument("--scale", action="store_true",
                        help=f"run the class against {', '.join(map(str, SCALE_PROCESSES))} web processes instead")
    opts = parser.parse_args(argv)
    workdir = bench_site.workdir("load")
    env = bench_site.bench_environment(workdir)
    with_services = bool(env.get("DATABASE_URL") and env.get("REDIS_URL"))
    if opts.large:
        opts.users = opts.users or LARGE_USERS
        opts.learners = opts.learners if opts.learners is not None else LARGE_LEARNERS
    opts.users = opts.users or (USERS_WITH_SERVICES if with_services else USERS_EMBEDDED)
    opts.learners = opts.users // 2 if opts.learners is None else opts.learners
    if opts.users < 1 or not 0 <= opts.learners <= opts.users:
        parser.error("--users must be >= 1 and --learners between 0 and --users")
    if opts.generators is not None and opts.generators < 1:
        parser.error("--generators must be >= 1")
    if opts.seconds is None:
        if opts.quick:
            opts.seconds = QUICK_SCALE_SECONDS if opts.scale else QUICK_ROUND_SECONDS
        else:
            opts.seconds = SCALE_SECONDS if opts.scale else 60.0
    relaxed = not with_services or opts.users > USERS_WITH_SERVICES
    p95_target_ms = P95_RELAXED_TARGET_MS if relaxed else P95_TARGET_MS
    what = (f"--scale over {', '.join(map(str, SCALE_PROCESSES))} web processes, {opts.seconds:g} s each"
            if opts.scale else f"2 rounds of {opts.seconds:g} s")
    print(f"load bench: {bench_site.describe(env)}; {opts.users} users of whom {opts.learners} learners, {what}, "
          f"{generators_for(opts.users, opts.generators)} load generator process(es); data in {workdir}", flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    content = bench_site.add_courses(EXTRA_COURSES, lessons=LESSONS_PER_COURSE)
    plan = {
        "seconds": opts.seconds,
        "visitors": opts.users - opts.learners,
        "learners": [],
        "courses": [{"url": c.url, "lesson_urls": c.lesson_urls} for c in content.courses],
        "cache_header": bench_site.CACHE_HEADER,
    }
    if opts.scale:
        return scale(opts, env, workdir, plan, content.courses)
    started = time.monotonic()
    plan["learners"] = make_class(content.courses, opts.learners)
    print(f"  {opts.learners} learners made in {time.monotonic() - started:.1f} s", flush=True)
    return rounds(opts, env, workdir, plan, p95_target_ms)


if __name__ == "__main__":
    sys.exit(main())
