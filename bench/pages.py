"""Benchmark: what each page costs, beside a trivial view in the same server (issues 8 and 20).

Production settings (``DJANGO_DEBUG=0``; PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL``
are set, the embedded SQLite + file cache otherwise), the demo content plus generated courses.
The server under test is ``manage.py run_academy`` (uvicorn, Django's WSGI handler on a thread
pool) with one web process; the floor is the same project under gunicorn's sync worker (one
process). ``/bench/chrome/`` (``base.html`` around no content, logged in) is measured too: what
every logged-in page costs before its own content. wrk is the client, in its own process on
loopback: one connection for latency (p50, p99), ten for throughput. Every ratio is measured in
this run, on this machine.

Targets, issue 8: the trivial view under our server >= 0.5x its throughput under the WSGI
server; cached anonymous pages >= 0.6x the trivial view's throughput; catalog at 1,000 courses /
at 10 <= 1.2 and dashboard at 1,000 enrollments / at 10 <= 3 (uncached: logged-in requests).
Issue 20 (a class is logged in), p50 against the trivial view: enrolled lesson and course pages
<= 3x, the dashboard at any number of enrollments <= 4x, the logged-in catalog <= 3x, the
completion POST <= 4x; and heavy pages (enrolled lesson, dashboard at 100 enrollments) cost no
more under our server than under the WSGI server (p50 ratio <= 1.0).

Run: ``python -m bench.pages [--seconds 3] [--quick] [--courses 1000]``. Needs wrk
(Debian package ``wrk``). ``--profile`` instead profiles each page in this process with
pyinstrument (50 requests each, production settings, the same data) and prints where the time
goes: what to look at before changing a page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass

from bench import print_table
from bench import site as bench_site
from bench.site import CHROME_PATH, TRIVIAL_PATH, WrkResult, wrk

THROUGHPUT_CONNECTIONS = 10
COMPLETE = "completion POST, enrolled"
HEAVY_LESSON = "lesson page, enrolled"
HEAVY_DASHBOARD = "dashboard, 100 enrollments"
UNDER_WSGI = "(gunicorn sync)"


@dataclass
class Row:
    """One page's figures and its ratios to the trivial view."""

    name: str
    single: WrkResult
    loaded: WrkResult | None


def measure(
    url: str, seconds: float, cookie: str = "", throughput: bool = True, post: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[WrkResult, WrkResult | None]:
    """Latency with one connection, then throughput with ten."""
    headers = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
    single = wrk(url, connections=1, seconds=seconds, headers=headers, post=post)
    loaded = wrk(url, connections=THROUGHPUT_CONNECTIONS, seconds=seconds, headers=headers,
                 post=post) if throughput else None
    return single, loaded


def verdict(value: float, limit: float, *, at_most: bool) -> str:
    """'met' or 'NOT met' for ``value`` against ``limit``."""
    ok = value <= limit if at_most else value >= limit
    return "met" if ok else "NOT met"


PROFILE_REQUESTS = 50


def profile_pages(content: bench_site.Content, learners: dict[int, str]) -> None:
    """Profile each page in-process with pyinstrument and print the call trees."""
    from django.test import Client
    from pyinstrument import Profiler

    demo = content.courses[0]
    pages = [
        ("trivial view, anonymous", TRIVIAL_PATH, ""),
        ("logged-in floor: base.html, no content", CHROME_PATH, learners[1]),
        ("catalog, anonymous", "/courses/", ""),
        ("lesson page, anonymous", demo.lesson_urls[0], ""),
        ("catalog, logged in", "/courses/", learners[1]),
        ("course page, enrolled", demo.url, learners[1]),
        ("lesson page, enrolled", demo.lesson_urls[0], learners[1]),
        ("dashboard, 1 enrollment", "/dashboard/", learners[1]),
        *[(f"dashboard, {count} enrollments", "/dashboard/", learners[count]) for count in sorted(learners) if count > 1],
    ]
    for name, path, session_key in pages:
        client = Client(HTTP_HOST=bench_site.HOST)
        if session_key:
            from django.conf import settings

            client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        client.get(path)  # warm: templates, renditions, caches
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(PROFILE_REQUESTS):
                status = client.get(path).status_code
        print(f"\n### {name} ({path}): {PROFILE_REQUESTS} requests, last status {status}")
        print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    """Build the site, start both servers, measure every page, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each wrk run")
    parser.add_argument("--courses", type=int, default=1000, help="courses in the large catalog")
    parser.add_argument("--quick", action="store_true", help="2 s runs and a 300-course catalog")
    parser.add_argument("--profile", action="store_true", help="profile the pages in-process instead")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.seconds, opts.courses = 2.0, 300
    if opts.profile:
        workdir = bench_site.workdir("profile")
        env = bench_site.bench_environment(workdir)
        print(f"pages profile: {bench_site.describe(env)}; data in {workdir}", flush=True)
        bench_site.setup_django(env)
        bench_site.seed_demo()
        content = bench_site.add_courses(opts.courses - 3, lessons=1)
        learners = {count: bench_site.make_learner(f"learner{count}", content.courses[:count])[1]
                    for count in (1, 100, 1000) if count <= content.course_count}
        try:
            profile_pages(content, learners)
        finally:
            bench_site.drop_bench_data(env)
        return 0
    if not bench_site.has_wrk():
        print("pages bench skipped: it needs wrk (apt-get install wrk)")
        return 0
    workdir = bench_site.workdir("pages")
    env = bench_site.bench_environment(workdir)
    print(f"pages bench: {bench_site.describe(env)}; data in {workdir}", flush=True)
    bench_site.setup_django(env)
    content = bench_site.seed_demo()
    content = bench_site.add_courses(10 - content.course_count, lessons=3)
    small_catalog = content.course_count

    academy = bench_site.academy_server(env, workdir, workers=1).start()
    floor = bench_site.wsgi_floor_server(env, workdir).start()
    rows: list[Row] = []
    try:
        watcher = bench_site.make_learner("catalog-reader", content.courses[:1])[1]
        catalog_small = wrk(f"{academy.url}/courses/", connections=1, seconds=opts.seconds,
                            headers={"Cookie": bench_site.session_cookie(watcher)})
        print(f"catalog at {small_catalog} courses measured; adding courses up to {opts.courses}", flush=True)
        content = bench_site.add_courses(opts.courses - content.course_count, lessons=1)
        catalog_large = wrk(f"{academy.url}/courses/", connections=1, seconds=opts.seconds,
                            headers={"Cookie": bench_site.session_cookie(watcher)})

        learners = {
            count: bench_site.session_cookie(bench_site.make_learner(f"learner{count}", content.courses[:count])[1])
            for count in (1, 10, 100, 1000) if count <= content.course_count
        }
        demo = content.courses[0]
        enrolled = learners[1]

        # The floor pair first and last, interleaved: the machine is shared and noisy.
        trivial_ours: list[tuple[WrkResult, WrkResult | None]] = []
        trivial_wsgi: list[tuple[WrkResult, WrkResult | None]] = []
        for _round in range(2):
            trivial_ours.append(measure(f"{academy.url}{TRIVIAL_PATH}", opts.seconds))
            trivial_wsgi.append(measure(f"{floor.url}{TRIVIAL_PATH}", opts.seconds))
        pages = [
            ("catalog /courses/, anonymous", f"{academy.url}/courses/", ""),
            ("course page, anonymous", f"{academy.url}{demo.url}", ""),
            ("lesson page, anonymous", f"{academy.url}{demo.lesson_urls[0]}", ""),
            ("catalog /courses/, logged in", f"{academy.url}/courses/", enrolled),
            ("course page, enrolled", f"{academy.url}{demo.url}", enrolled),
            ("lesson page, enrolled", f"{academy.url}{demo.lesson_urls[0]}", enrolled),
            ("logged-in floor: base.html, no content", f"{academy.url}{CHROME_PATH}", enrolled),
            *[(f"dashboard, {count} enrollment{'s' if count > 1 else ''}", f"{academy.url}/dashboard/", cookie)
              for count, cookie in learners.items()],
        ]
        for name, url, cookie in pages:
            rows.append(Row(name, *measure(url, opts.seconds, cookie)))
            print(f"  measured {name}", flush=True)
        # A learner marks a lesson complete (the form's POST, answered with a redirect).
        secret = bench_site.csrf_secret()
        completer = bench_site.make_learner("completer", content.courses[:1])[1]
        lesson_id = demo.completable_ids[0]
        rows.append(Row(COMPLETE, *measure(
            f"{academy.url}/learning/progress/", opts.seconds, bench_site.session_cookie(completer, secret),
            post=f"lesson_id={lesson_id}&next=/dashboard/",
            headers={"X-CSRFToken": secret, "Referer": f"{academy.url}{demo.lesson_urls[0]}"},
        )))
        print(f"  measured {COMPLETE}", flush=True)
        # The same heavy pages under the WSGI server: what our server model costs on them.
        for name, path, cookie in ((HEAVY_LESSON, demo.lesson_urls[0], enrolled),
                                   (HEAVY_DASHBOARD, "/dashboard/", learners.get(100, enrolled))):
            rows.append(Row(f"{name} {UNDER_WSGI}", *measure(f"{floor.url}{path}", opts.seconds, cookie)))
            print(f"  measured {name} {UNDER_WSGI}", flush=True)
        trivial_ours.append(measure(f"{academy.url}{TRIVIAL_PATH}", opts.seconds))
        trivial_wsgi.append(measure(f"{floor.url}{TRIVIAL_PATH}", opts.seconds))
    finally:
        academy.stop()
        floor.stop()
        bench_site.drop_bench_data(env)

    def median(results: list[tuple[WrkResult, WrkResult | None]], pick: str) -> float:
        values = [getattr(single, pick) if pick != "rps" else loaded.rps  # type: ignore[union-attr]
                  for single, loaded in results]
        return statistics.median(values)

    base_p50 = median(trivial_ours, "p50_ms")
    base_p99 = median(trivial_ours, "p99_ms")
    base_rps = median(trivial_ours, "rps")
    wsgi_rps = median(trivial_wsgi, "rps")
    table = [
        ["trivial view, our server (1 process)", f"{base_p50:.2f}", f"{base_p99:.2f}", f"{base_rps:.0f}", "1.00x", "1.00x", "-"],
        ["trivial view, gunicorn sync (1 process)", f"{median(trivial_wsgi, 'p50_ms'):.2f}",
         f"{median(trivial_wsgi, 'p99_ms'):.2f}", f"{wsgi_rps:.0f}", "", f"{wsgi_rps / base_rps:.2f}x", "-"],
    ]
    errors = sum(r.errors for pair in trivial_ours + trivial_wsgi for r in pair if r is not None)
    by_name: dict[str, Row] = {}
    for row in rows:
        by_name[row.name] = row
        loaded = row.loaded
        errors += row.single.errors + (loaded.errors if loaded else 0)
        table.append([
            row.name, f"{row.single.p50_ms:.2f}", f"{row.single.p99_ms:.2f}", f"{loaded.rps:.0f}" if loaded else "",
            f"{row.single.p50_ms / base_p50:.1f}x", f"{loaded.rps / base_rps:.2f}x" if loaded else "",
            str(row.single.errors + (loaded.errors if loaded else 0)),
        ])
    print_table(
        f"Pages (p50/p99: 1 connection; req/s: {THROUGHPUT_CONNECTIONS} connections; {opts.seconds:g} s each)",
        ["page", "p50 ms", "p99 ms", "req/s", "p50 vs trivial", "req/s vs trivial", "errors"],
        table,
    )

    targets: list[list[str]] = []

    def target(name: str, value: float, limit: float, *, at_most: bool) -> None:
        sign = "<=" if at_most else ">="
        targets.append([name, f"{value:.2f}", f"{sign} {limit:g}", verdict(value, limit, at_most=at_most)])

    target("trivial view: our server / WSGI server (req/s)", base_rps / wsgi_rps, 0.5, at_most=False)
    for name in ("catalog /courses/, anonymous", "course page, anonymous", "lesson page, anonymous"):
        loaded = by_name[name].loaded
        target(f"{name} (cached) / trivial (req/s)", loaded.rps / base_rps if loaded else 0.0, 0.6, at_most=False)
    # Issue 20: logged-in pages cost what they show.
    for name, limit in (("lesson page, enrolled", 3), ("course page, enrolled", 3), ("catalog /courses/, logged in", 3),
                        (COMPLETE, 4), *[(f"dashboard, {count} enrollment{'s' if count > 1 else ''}", 4)
                                         for count in learners]):
        target(f"{name} / trivial (p50)", by_name[name].single.p50_ms / base_p50, limit, at_most=True)
    if "dashboard, 100 enrollments" in by_name:
        dash = by_name["dashboard, 100 enrollments"].single
        target("dashboard, 100 enrollments / trivial (p99)", dash.p99_ms / base_p99, 5, at_most=True)
    for name in (HEAVY_LESSON, HEAVY_DASHBOARD):
        ours, theirs = by_name[name].single, by_name[f"{name} {UNDER_WSGI}"].single
        target(f"{name}: our server / WSGI server (p50)", ours.p50_ms / theirs.p50_ms, 1.0, at_most=True)
    target(f"catalog at {content.course_count} courses / at {small_catalog}, uncached (p50)",
           catalog_large.p50_ms / catalog_small.p50_ms, 1.2, at_most=True)
    largest = max(learners)
    if largest >= 100:
        target(f"dashboard at {largest} enrollments / at 10 (p50)",
               by_name[f"dashboard, {largest} enrollments"].single.p50_ms / by_name["dashboard, 10 enrollments"].single.p50_ms,
               3, at_most=True)
    target("errors (every run above)", errors, 0, at_most=True)
    print_table("Targets", ["measure", "value", "target", "verdict"], targets)
    print(f"\ncatalog uncached p50: {catalog_small.p50_ms:.2f} ms at {small_catalog} courses, "
          f"{catalog_large.p50_ms:.2f} ms at {content.course_count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
