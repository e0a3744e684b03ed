"""Benchmark: a lesson page with 200 discussion threads and 2,000 replies, beside the same lesson
with discussions switched off for its course (issue 24).

Production settings (``DJANGO_DEBUG=0``; PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL``
are set, the embedded SQLite + file cache otherwise), the demo content plus one generated course
whose first lesson holds the threads. The server under test is ``manage.py run_academy`` with one
web process; wrk on loopback with one connection (p50, p99) and ten (req/s); the caller is an
enrolled learner. The query count of each page is measured in this process with Django's test
client on the same database.

Target: the lesson with discussions / without, p50 <= 1.5; the query count is the same with 1,
200 and 2,000 threads, and the same as without discussions on a warm page
(tests/plugins/discussions/test_pages.py holds that exactly). The lesson shows its first 10
threads and their total; the rest is behind "Show more".

Run: ``python -m bench.discussions [--seconds 3] [--quick] [--threads 200] [--replies 10]``.
Needs wrk (Debian package ``wrk``). ``--profile`` instead profiles the lesson page in this process
with pyinstrument (50 requests, discussions on) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from bench import print_table
from bench import site as bench_site
from bench.site import TRIVIAL_PATH, WrkResult, wrk

THROUGHPUT_CONNECTIONS = 10
TARGET_RATIO = 1.5
PROFILE_REQUESTS = 50


def add_threads(course_id: int, lesson_id: int, *, threads: int, replies: int) -> None:
    """``threads`` threads on the lesson with ``replies`` replies each, and votes (bulk rows)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from plugins.discussions.models import Post, Thread, Vote

    users = get_user_model()
    asker, _ = users.objects.get_or_create(username="bench-asker", defaults={"email": "asker@example.com"})
    helper, _ = users.objects.get_or_create(username="bench-helper", defaults={"email": "helper@example.com"})
    now = timezone.now()
    made = Thread.objects.bulk_create(
        Thread(course_id=course_id, lesson_id=lesson_id, author=asker, title=f"Question {n} about this lesson",
               created_at=now - timedelta(minutes=n), last_activity_at=now - timedelta(minutes=n), reply_count=replies)
        for n in range(threads)
    )
    openings = Post.objects.bulk_create(
        Post(thread=thread, author=asker, body=f"How does step {n} work?", body_html=f"<p>How does step {n} work?</p>",
             created_at=thread.created_at)
        for n, thread in enumerate(made)
    )
    for thread, opening in zip(made, openings, strict=True):
        thread.opening = opening
    Thread.objects.bulk_update(made, ["opening"])
    Post.objects.bulk_create(
        Post(thread=thread, author=helper, body="Like this.", body_html="<p>Like this.</p>", created_at=now)
        for thread in made for _ in range(replies)
    )
    Vote.objects.bulk_create(Vote(post=opening, user=helper) for opening in openings)


def query_count(url: str, session_key: str) -> int:
    """Queries of one warm GET of ``url`` as the learner (Django's test client, this process)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host of the bench settings
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def profile(url: str, session_key: str) -> None:
    """Profile ``PROFILE_REQUESTS`` GETs of ``url`` in this process and print the call tree."""
    from django.conf import settings
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1")  # an allowed host of the bench settings
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.get(url)
    profiler = Profiler()
    with profiler:
        for _ in range(PROFILE_REQUESTS):
            client.get(url)
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    """Build the site, measure the lesson with discussions on and off, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.discussions", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each wrk run")
    parser.add_argument("--quick", action="store_true", help="2 s runs")
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--replies", type=int, default=10, help="replies per thread")
    parser.add_argument("--profile", action="store_true", help="profile the page with pyinstrument instead")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.seconds = 2.0
    if not opts.profile and not bench_site.has_wrk():
        print("discussions bench skipped: it needs wrk (apt-get install wrk)")
        return 0
    workdir = bench_site.workdir("discussions")
    env = bench_site.bench_environment(workdir)
    print(f"discussions bench: {bench_site.describe(env)}; data in {workdir}", flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    content = bench_site.add_courses(1, lessons=2)
    course = content.courses[-1]
    add_threads(course.pk, course.lesson_ids[0], threads=opts.threads, replies=opts.replies)
    _user_id, session = bench_site.make_learner("discussions-learner", [course])
    lesson_url = course.lesson_urls[0]
    if opts.profile:
        profile(lesson_url, session)
        return 0

    from academy.sdk import set_plugin_state

    queries = {"on": query_count(lesson_url, session)}
    academy = bench_site.academy_server(env, workdir, workers=1).start()
    headers = {"Cookie": bench_site.session_cookie(session)}
    results: dict[str, tuple[WrkResult, WrkResult]] = {}
    errors = 0
    try:
        wrk(f"{academy.url}{TRIVIAL_PATH}", connections=1, seconds=1)  # warm-up
        for state in ("on", "off"):
            if state == "off":
                set_plugin_state("discussions", "off", course_id=course.pk)
                queries["off"] = query_count(lesson_url, session)
            url = f"{academy.url}{lesson_url}"
            wrk(url, connections=1, seconds=1, headers=headers)  # warm the server's caches
            single = wrk(url, connections=1, seconds=opts.seconds, headers=headers)
            loaded = wrk(url, connections=THROUGHPUT_CONNECTIONS, seconds=opts.seconds, headers=headers)
            errors += single.errors + loaded.errors
            results[state] = (single, loaded)
            print(f"  measured discussions {state}", flush=True)
    finally:
        academy.stop()
    on, off = results["on"][0], results["off"][0]
    ratio = on.p50_ms / off.p50_ms
    rows: list[list[str]] = [
        [f"lesson, {opts.threads} threads / {opts.threads * opts.replies} replies", f"{on.p50_ms:.2f}", f"{on.p99_ms:.2f}",
         f"{results['on'][1].rps:.0f}", str(queries["on"])],
        ["same lesson, discussions off", f"{off.p50_ms:.2f}", f"{off.p99_ms:.2f}", f"{results['off'][1].rps:.0f}", str(queries["off"])],
    ]
    print_table("Discussions on a lesson page", ["page (enrolled learner)", "p50 ms", "p99 ms", f"req/s ({THROUGHPUT_CONNECTIONS} conn)", "queries"], rows)
    verdict = "ok" if ratio <= TARGET_RATIO else "ABOVE TARGET"
    print(f"with / without discussions, p50: {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict}; errors: {errors}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


