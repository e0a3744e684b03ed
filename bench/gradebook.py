"""Benchmark: the gradebook's staff grid at 10 and 10,000 learners, beside the trivial view (issue 22).

Production settings (as ``bench.pages``: PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL``
are set, the embedded SQLite + file cache otherwise), two generated courses with two graded
quizzes each: one with 10 learners, one with 10,000 (every learner graded on both quizzes). The
server under test is ``manage.py run_academy`` with one web process; wrk is the client in its own
process on loopback: one connection for latency (p50, p99), ten for throughput. A superuser reads
the grid (one page of 50 learners): sorted by name (the page sorted and cut in SQL), and by course
grade (every learner's grade computed, then sorted: the grade depends on each learner's due
dates). Every ratio is measured in this run, on this machine.

Run: ``python -m bench.gradebook [--seconds 3] [--quick] [--learners 10000]``. Needs wrk.
``--profile`` instead profiles the large grid in this process with pyinstrument (10 requests per
sort) and prints where the time goes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from decimal import Decimal

from bench import print_table
from bench import site as bench_site
from bench.site import BULK_BATCH, TRIVIAL_PATH, WrkResult, wrk

THROUGHPUT_CONNECTIONS = 10
SMALL_CLASS = 10
PROFILE_REQUESTS = 10
QUESTION = [{
    "type": "single_choice", "id": "q-1", "value": {
        "prompt": "<p>Two and two?</p>", "points": 1,
        "choices": [
            {"type": "item", "id": "c-4", "value": {"text": "4", "correct": True, "feedback": ""}},
            {"type": "item", "id": "c-5", "value": {"text": "5", "correct": False, "feedback": ""}},
        ],
    },
}]


def graded_course(title: str, slug: str) -> tuple[int, list[int]]:
    """A live course with two live quizzes (weights 3 and 1); (course id, quiz ids)."""
    from django.utils import timezone

    from courses.models import CourseIndexPage, CoursePage
    from plugins.quizzes.models import QuizLessonPage

    now = timezone.now()
    catalog = CourseIndexPage.objects.get()
    course = catalog.add_child(instance=CoursePage(
        title=title, slug=slug, summary="Graded.", description="<p>A graded course.</p>", live=True,
        first_published_at=now, last_published_at=now,
        pass_grade=60,
    ))
    quizzes = [
        course.add_child(instance=QuizLessonPage(
            title=f"Quiz {n}", slug=f"quiz-{n}", questions=QUESTION, grade_weight=weight, live=True,
            first_published_at=now, last_published_at=now,
        )).pk
        for n, weight in ((1, 3), (2, 1))
    ]
    return course.pk, quizzes


def graded_class(prefix: str, course_id: int, quiz_ids: list[int], count: int) -> None:
    """``count`` active learners of the course, each graded on every quiz (bulk inserts)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from learning.models import Enrollment, Grade

    user_model = get_user_model()
    now = timezone.now()
    names = [f"{prefix}{n:05d}" for n in range(count)]
    with transaction.atomic():
        user_model.objects.bulk_create(
            [user_model(username=name, email=f"{name}@bench.invalid", first_name="Learner", last_name=name,
                        password="!") for name in names],
            batch_size=BULK_BATCH,
        )
        users = user_model.objects.in_bulk(names, field_name="username")
        Enrollment.objects.bulk_create(
            [Enrollment(user=users[name], course_id=course_id, status=Enrollment.Status.ACTIVE, activated_at=now)
             for name in names],
            batch_size=BULK_BATCH,
        )
        Grade.objects.bulk_create(
            [Grade(user=users[name], lesson_id=quiz_id, course_id=course_id, score=Decimal((n * 7 + i * 31) % 101),
                   submitted_at=now)
             for n, name in enumerate(names) for i, quiz_id in enumerate(quiz_ids)],
            batch_size=BULK_BATCH,
        )


def superuser_session() -> str:
    """A superuser with a login session (made as ``bench.site`` makes learners); its session key."""
    from django.contrib.auth import get_user_model

    user_id, key = bench_site.make_learner("gradebook-staff", [])
    get_user_model().objects.filter(pk=user_id).update(is_superuser=True, is_staff=True)
    return key


def build(learners: int) -> tuple[dict[str, str], str]:
    """The two courses and classes; (page name -> path, the staff session key)."""
    small, small_quizzes = graded_course("Gradebook small", "gradebook-small")
    large, large_quizzes = graded_course("Gradebook large", "gradebook-large")
    graded_class("gbsmall", small, small_quizzes, SMALL_CLASS)
    graded_class("gblarge", large, large_quizzes, learners)
    key = superuser_session()
    grid = "/admin/learning/courses/{}/gradebook/"
    return {
        f"gradebook grid, {SMALL_CLASS} learners, by name": grid.format(small),
        f"gradebook grid, {learners:,} learners, by name": grid.format(large),
        f"gradebook grid, {SMALL_CLASS} learners, by course grade": grid.format(small) + "?sort=-grade",
        f"gradebook grid, {learners:,} learners, by course grade": grid.format(large) + "?sort=-grade",
    }, key


def profile(paths: dict[str, str], session_key: str, learners: int) -> None:
    """Profile the large grid in-process with pyinstrument and print the call trees."""
    from django.conf import settings
    from django.test import Client
    from pyinstrument import Profiler

    for name, path in paths.items():
        if f"{learners:,}" not in name:
            continue
        client = Client(HTTP_HOST=bench_site.HOST)
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        client.get(path)  # warm
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(PROFILE_REQUESTS):
                status = client.get(path).status_code
        print(f"\n### {name} ({path}): {PROFILE_REQUESTS} requests, last status {status}")
        print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    """Build the site, start the server, measure the grid beside the trivial view, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.gradebook", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each wrk run")
    parser.add_argument("--learners", type=int, default=10_000, help="learners in the large class")
    parser.add_argument("--quick", action="store_true", help="2 s runs")
    parser.add_argument("--profile", action="store_true", help="profile the large grid in-process instead")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.seconds = 2.0
    if not opts.profile and not bench_site.has_wrk():
        print("gradebook bench skipped: it needs wrk (apt-get install wrk)")
        return 0
    workdir = bench_site.workdir("gradebook-profile" if opts.profile else "gradebook")
    env = bench_site.bench_environment(workdir)
    print(f"gradebook {'profile' if opts.profile else 'bench'}: {bench_site.describe(env)}; data in {workdir}",
          flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    paths, key = build(opts.learners)
    if opts.profile:
        try:
            profile(paths, key, opts.learners)
        finally:
            bench_site.drop_bench_data(env)
        return 0
    cookie = bench_site.session_cookie(key)
    academy = bench_site.academy_server(env, workdir, workers=1).start()
    trivial: list[tuple[WrkResult, WrkResult]] = []
    rows: list[tuple[str, WrkResult, WrkResult]] = []

    def measure(url: str, headers: dict[str, str]) -> tuple[WrkResult, WrkResult]:
        single = wrk(url, connections=1, seconds=opts.seconds, headers=headers)
        loaded = wrk(url, connections=THROUGHPUT_CONNECTIONS, seconds=opts.seconds, headers=headers)
        return single, loaded

    try:
        trivial.append(measure(f"{academy.url}{TRIVIAL_PATH}", {}))
        for name, path in paths.items():
            rows.append((name, *measure(f"{academy.url}{path}", {"Cookie": cookie})))
            print(f"  measured {name}", flush=True)
        trivial.append(measure(f"{academy.url}{TRIVIAL_PATH}", {}))
    finally:
        academy.stop()
        bench_site.drop_bench_data(env)

    base_p50 = statistics.median(single.p50_ms for single, _loaded in trivial)
    base_rps = statistics.median(loaded.rps for _single, loaded in trivial)
    table = [["trivial view (1 process)", f"{base_p50:.2f}",
              f"{statistics.median(single.p99_ms for single, _ in trivial):.2f}", f"{base_rps:.0f}", "1.0x", "1.00x",
              str(sum(s.errors + lo.errors for s, lo in trivial))]]
    by_name = {}
    for name, single, loaded in rows:
        by_name[name] = single
        table.append([name, f"{single.p50_ms:.2f}", f"{single.p99_ms:.2f}", f"{loaded.rps:.0f}",
                      f"{single.p50_ms / base_p50:.1f}x", f"{loaded.rps / base_rps:.2f}x",
                      str(single.errors + loaded.errors)])
    print_table(
        f"Gradebook grid (p50/p99: 1 connection; req/s: {THROUGHPUT_CONNECTIONS} connections; {opts.seconds:g} s each)",
        ["page", "p50 ms", "p99 ms", "req/s", "p50 vs trivial", "req/s vs trivial", "errors"],
        table,
    )
    names = list(paths)
    print(f"\nby name: {opts.learners:,} / {SMALL_CLASS} learners (p50) = "
          f"{by_name[names[1]].p50_ms / by_name[names[0]].p50_ms:.2f}x; by course grade: "
          f"{by_name[names[3]].p50_ms / by_name[names[2]].p50_ms:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
