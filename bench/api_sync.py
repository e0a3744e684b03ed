"""Benchmark: an HR sync of 1,000 people through the staff API, in one run, at the default
limits (issue 23: "57 of 200 went through, then 429 for an hour"), time per person beside a
trivial API call in the same server and run.

Production settings (``DJANGO_DEBUG=0``; PostgreSQL + Redis when ``DATABASE_URL`` / ``REDIS_URL``
are set), one ``run_academy`` web process, one client connection (keep-alive) on loopback. The
caller is a service account (Settings > Service accounts) with a token scoped ``users``,
``read``, ``enroll`` and ``report``, in the Moderators group with the enrollment and user
permissions. Throttle rates are the defaults: the run must not meet one.

The sync, as docs/api.md shows it: ``PUT users/by-external-id/`` for each of the 1,000 people
(300 of them have an account already and asked for the approval course themselves), the
pending requests listed and approved in batches of 500, everyone enrolled in one of two
cohorts in batches of 500, the progress report read to its end.

Targets: no 429 and no error; time per person (whole sync / 1,000) reported beside the trivial
call (``GET /api/v1/me/``).

Run: ``python -m bench.api_sync [--people 1000] [--quick]`` (``--quick``: 200 people).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import uuid
from typing import Any

from bench import print_table
from bench import site as bench_site

PEOPLE = 1000
QUICK_PEOPLE = 200
PENDING_SHARE = 0.3
BATCH = 500
PAGE = 100
TRIVIAL_CALLS = 50


class Api:
    """One keep-alive connection to the server, with the token; counts statuses."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(bench_site.HOST, port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Host": "localhost"}
        self.statuses: dict[int, int] = {}

    def call(self, method: str, path: str, body: Any = None, *, idempotent_post: bool = True) -> tuple[float, Any]:
        """(milliseconds, parsed body)."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST" and idempotent_post:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        start = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:300]!r}")
        return elapsed, json.loads(raw) if raw else None


def prepare(people: int, course_id: int | None = None) -> tuple[int, list[int], str, list[dict[str, str]]]:
    """The course (``course_id``, else the first live one; switched to approval), its two
    cohorts, the service account's token, the HR feed; the first ``PENDING_SHARE`` of the feed
    have accounts and pending requests already."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from courses.models import CoursePage, EnrollmentMode
    from learning import services, tokens
    from learning.models import Cohort

    courses = CoursePage.objects.live().order_by("path")
    course = courses.get(pk=course_id) if course_id is not None else courses.first()
    CoursePage.objects.filter(pk=course.pk).update(enrollment_mode=EnrollmentMode.APPROVAL)
    course.refresh_from_db()
    cohorts = [Cohort.objects.create(course=course, name=name).pk for name in ("Autumn intake", "Spring intake")]
    users = get_user_model().objects
    admin = users.filter(is_superuser=True).first() or users.create_superuser("bench-root", "root@example.com", None)
    account = tokens.service_account_create(name="HR sync", username="hr-sync", by=admin,
                                            group_ids=[Group.objects.get(name="Moderators").pk])
    account.user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["learning", "auth"],
        codename__in=["view_enrollment", "change_enrollment", "add_user", "change_user"],
    ))
    token = tokens.service_token_create(account=account, name="nightly", scopes=list(tokens.SCOPES), by=admin).secret
    feed = [{"id": f"E{number:05d}", "email": f"employee{number}@example.com", "first": "Employee", "last": str(number)}
            for number in range(people)]
    for person in feed[: int(people * PENDING_SHARE)]:
        user = users.create_user(person["email"], email=person["email"])
        services.enrollment_request(user=user, course=course)
    return course.pk, cohorts, token, feed


def sync(api: Api, course_id: int, cohorts: list[int], feed: list[dict[str, str]]) -> dict[str, list[float]]:
    """The sync of docs/api.md; milliseconds per call, per phase."""
    times: dict[str, list[float]] = {"put": [], "list": [], "approve": [], "enroll": [], "report": []}
    ids: dict[str, int] = {}
    for person in feed:
        took, user = api.call("PUT", f"/api/v1/users/by-external-id/workday/{person['id']}/",
                              {"email": person["email"], "first_name": person["first"], "last_name": person["last"]})
        times["put"].append(took)
        ids[person["id"]] = user["id"]
    known = set(ids.values())
    pending: list[int] = []
    path: str | None = f"/api/v1/courses/{course_id}/enrollments/?status=pending_approval&page_size={PAGE}"
    while path:
        took, page = api.call("GET", path)
        times["list"].append(took)
        pending += [row["id"] for row in page["results"] if row["user"]["id"] in known]
        path = page["next"].split("localhost", 1)[1] if page["next"] else None
    for start in range(0, len(pending), BATCH):
        took, answer = api.call("POST", f"/api/v1/courses/{course_id}/enrollments/approve/",
                                {"enrollment_ids": pending[start : start + BATCH]})
        times["approve"].append(took)
        assert "error" not in answer["counts"], answer["counts"]
    halves = [feed[: len(feed) // 2], feed[len(feed) // 2 :]]
    for cohort_id, people in zip(cohorts, halves, strict=True):
        for start in range(0, len(people), BATCH):
            body = {"users": [{"id": ids[person["id"]]} for person in people[start : start + BATCH]], "cohort_id": cohort_id}
            took, answer = api.call("POST", f"/api/v1/courses/{course_id}/enrollments/", body)
            times["enroll"].append(took)
            assert "error" not in answer["counts"], answer["counts"]
    path = f"/api/v1/courses/{course_id}/progress/?page_size={PAGE}"
    while path:
        took, page = api.call("GET", path)
        times["report"].append(took)
        path = page["next"].split("localhost", 1)[1] if page["next"] else None
    return times


def main(argv: list[str] | None = None) -> int:
    """Build the site, run the sync once against a production-mode server, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_sync", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PEOPLE} people")
    parser.add_argument("--seconds", type=float, default=None, help="ignored (the other benches' option)")
    opts = parser.parse_args(argv)
    people = QUICK_PEOPLE if opts.quick else opts.people
    workdir = bench_site.workdir("api-sync")
    env = bench_site.bench_environment(workdir)
    print(f"api sync bench: {bench_site.describe(env)}; {people} people; data in {workdir}", flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    course_id, cohorts, token, feed = prepare(people)
    academy = bench_site.academy_server(env, workdir, workers=1).start()
    try:
        api = Api(academy.port, token)
        for _ in range(5):
            api.call("GET", "/api/v1/me/")  # warm-up
        trivial = [api.call("GET", "/api/v1/me/")[0] for _ in range(TRIVIAL_CALLS)]
        start = time.perf_counter()
        times = sync(api, course_id, cohorts, feed)
        total_s = time.perf_counter() - start
        trivial_after = [api.call("GET", "/api/v1/me/")[0] for _ in range(TRIVIAL_CALLS)]
        statuses = dict(api.statuses)
    finally:
        academy.stop()
        bench_site.drop_bench_data(env)

    base = statistics.median(trivial)
    per_person_ms = total_s * 1000 / people
    rows = [["trivial call (GET me/), median", "1", f"{base:.2f}", "", "1.0x"]]
    for phase, label in (("put", "PUT users/by-external-id/ (one person)"), ("list", "GET enrollments ?status=pending (page)"),
                         ("approve", f"POST approve/ (batch of <= {BATCH})"), ("enroll", f"POST enrollments/ (batch of <= {BATCH})"),
                         ("report", f"GET progress/ (page of {PAGE})")):
        values = times[phase]
        rows.append([label, str(len(values)), f"{statistics.median(values):.2f}", f"{sum(values):.0f}",
                     f"{statistics.median(values) / base:.1f}x"])
    batch_people = sum(times["enroll"]) / people
    rows.append(["enroll, per person (batch time / people)", "", f"{batch_people:.2f}", "", f"{batch_people / base:.1f}x"])
    rows.append(["whole sync, per person", "", f"{per_person_ms:.2f}", f"{total_s * 1000:.0f}", f"{per_person_ms / base:.1f}x"])
    print_table(f"HR sync of {people} people through the staff API (one connection; ms)",
                ["step", "calls", "median ms", "total ms", "vs trivial"], rows)
    calls = sum(statuses.values())
    throttled = statuses.get(429, 0)
    errors = sum(number for status, number in statuses.items() if status >= 300)
    print_table("Targets", ["measure", "value", "target", "verdict"], [
        ["429 answers (default limits)", str(throttled), "0", "met" if throttled == 0 else "NOT met"],
        ["errors", str(errors), "0", "met" if errors == 0 else "NOT met"],
    ])
    print(f"\n{calls} calls in {total_s:.1f} s; trivial call median at the start / the end: "
          f"{base:.2f} / {statistics.median(trivial_after):.2f} ms")
    return 0 if throttled == 0 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
