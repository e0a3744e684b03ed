"""Benchmark: issue 23's "done when", in one run against a production-mode server with its task
worker: an HR sync enrolls and approves 1,000 people into two cohorts through the staff API
without meeting a limit (``bench.api_sync``'s sync), a receiver gets every completion as a
signed webhook, and a client generated from the API's schema completes the demo quiz.

1. The demo site (``seed_demo``); the sync goes into "SQL for Web Developers" (switched to
   approval, 30 % of the people asked for it already), as ``bench.api_sync`` runs it.
2. A webhook subscription (the webhooks plugin's service, as *Settings > Webhooks* makes it) for
   ``lesson_completed`` and ``course_completed`` on every course, to a receiver this script
   runs on loopback (``http.server`` in a thread). The receiver checks every request as
   docs/first-party-plugins.md tells a receiver to (HMAC-SHA256 over ``id.timestamp.body`` with
   the secret shown once, the timestamp within 5 minutes), written here from the docs rather
   than imported, and keeps each ``Webhook-Id``.
3. ``--completers`` of the synced learners (each with a token of their own, as their app has)
   complete every lesson of the course with ``POST progress/``: completions made = lessons
   newly completed + courses completed, by the answers.
4. A client generated once from ``/api/schema/`` (openapi-python-client, into the run's temp
   folder) takes the demo pytest course's quiz as a learner's app (``bench._client.quiz_journey``):
   list courses, enroll, find the quiz by kind, start, answer each question, submit, read the
   result and the progress. Its passing submission completes the quiz lesson: one more webhook.
5. The task worker delivers; the script waits until every expected event arrived (or
   ``--patience`` seconds).

Targets: no 429 and no error in the sync; signed webhooks received = completions made (each
event id once, every signature valid, no other request); the generated client passes the quiz
and sees the lesson completed.

Run: ``python -m bench.integration [--people 1000] [--completers 100] [--quick]`` (``--quick``:
200 people, 20 completers).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import _client, print_table
from bench import api_sync as bench_sync
from bench import site as bench_site

PEOPLE = bench_sync.PEOPLE
QUICK_PEOPLE = bench_sync.QUICK_PEOPLE
COMPLETERS = 100
QUICK_COMPLETERS = 20
SYNC_COURSE = "SQL for Web Developers"
QUIZ_COURSE = "Python Testing with pytest"
EVENT_TYPES = ["lesson_completed", "course_completed"]
PATIENCE = 300.0
TOLERANCE_SECONDS = 300


# --- The receiver ------------------------------------------------------------------------------


def signature_valid(secret: str, headers: Any, body: bytes, now: float) -> bool:
    """docs/first-party-plugins.md's check, as a receiver writes it."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if abs(now - int(headers["Webhook-Timestamp"])) > TOLERANCE_SECONDS:
            return False
        return any(hmac.compare_digest(expected, s) for s in headers["Webhook-Signature"].split())
    except (KeyError, ValueError, TypeError):
        return False


@dataclass
class Received:
    """What the receiver was sent."""

    secret: str = ""
    requests: int = 0
    invalid: int = 0
    repeats: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, headers: Any, body: bytes) -> None:
        """Count one request (a repeated event id is counted once, as a receiver must)."""
        valid = signature_valid(self.secret, headers, body, time.time())
        with self.lock:
            self.requests += 1
            if not valid:
                self.invalid += 1
                return
            event_id = headers["Webhook-Id"]
            if event_id in self.event_ids:
                self.repeats += 1
                return
            self.event_ids.add(event_id)
            kind = json.loads(body).get("type", "?")
            self.by_type[kind] = self.by_type.get(kind, 0) + 1

    @property
    def unique(self) -> int:
        """Distinct event ids with a valid signature."""
        with self.lock:
            return len(self.event_ids)


def receiver(received: Received) -> ThreadingHTTPServer:
    """An HTTP server on a free loopback port that records each POST in ``received``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.record(self.headers, body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((bench_site.HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- Set-up ------------------------------------------------------------------------------------


def subscribe(target_url: str) -> str:
    """The subscription (every course, the completion events); its secret."""
    from django.contrib.auth import get_user_model

    from plugins.webhooks import services as webhooks

    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    _subscription, secret = webhooks.subscription_create(
        name="Bench receiver", target_url=target_url, event_types=EVENT_TYPES, by=admin,
    )
    return secret


def course_id(title: str) -> int:
    """The live course titled ``title``."""
    from courses.models import CoursePage

    return int(CoursePage.objects.live().get(title=title).pk)


def learner_tokens(emails: list[str]) -> list[str]:
    """A personal token for each of these (synced) people, as their app holds one."""
    from django.contrib.auth import get_user_model

    from learning import tokens

    users = {user.email: user for user in get_user_model().objects.filter(email__in=emails)}
    return [tokens.token_create(user=users[email], name="phone").secret for email in emails]


def quiz_learner_token() -> str:
    """A new learner's token for the generated client's journey."""
    from django.contrib.auth import get_user_model

    from learning import tokens

    user = get_user_model().objects.create_user("quiz-app-learner", email="quiz-app@example.com")
    return tokens.token_create(user=user, name="phone").secret


def completable_lessons(course: int) -> list[int]:
    """The lessons of ``course`` a learner completes with ``POST progress/`` (no quiz)."""
    return next(found.completable_ids for found in bench_site.load_content().courses if found.pk == course)


def deliveries() -> dict[str, int]:
    """Delivery rows by status."""
    from django.db.models import Count

    from plugins.webhooks.models import Delivery

    return {row["status"]: row["n"] for row in Delivery.objects.values("status").annotate(n=Count("pk"))}


def delivery_delays() -> tuple[float, float, int]:
    """Seconds from an event's delivery row to its success (median, max), and attempts made in all."""
    from plugins.webhooks.models import Delivery

    rows = list(Delivery.objects.filter(succeeded_at__isnull=False).values_list("created_at", "succeeded_at", "attempts"))
    delays = sorted((done - made).total_seconds() for made, done, _attempts in rows)
    if not delays:
        return 0.0, 0.0, 0
    return delays[len(delays) // 2], delays[-1], sum(attempts for _made, _done, attempts in rows)


# --- The run -------------------------------------------------------------------------------------


def complete_lessons(port: int, tokens: list[str], lessons: list[int]) -> tuple[int, int, dict[int, int]]:
    """Each learner completes each lesson through the API; (lessons newly completed, courses
    completed, statuses)."""
    lessons_done = courses_done = 0
    statuses: dict[int, int] = {}
    for token in tokens:
        api = bench_sync.Api(port, token)
        for lesson_id in lessons:
            _took, answer = api.call("POST", "/api/v1/progress/", {"lesson_id": lesson_id, "completed": True},
                                     idempotent_post=False)
            lessons_done += int(answer["newly_completed"])
        courses_done += int(answer["course_completed"])
        api.conn.close()
        for status, number in api.statuses.items():
            statuses[status] = statuses.get(status, 0) + number
    return lessons_done, courses_done, statuses


def generated_package(server_url: str, into: Path) -> Any:
    """The client generated from the running server's schema."""
    request = urllib.request.Request(f"{server_url}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        schema = json.loads(response.read())
    into.mkdir(parents=True, exist_ok=True)
    return _client.generate(schema, into)


def wait_for(received: Received, expected: int, patience: float) -> float:
    """Wait until ``expected`` distinct events arrived (or ``patience`` ran out); seconds waited."""
    started = time.monotonic()
    while received.unique < expected and time.monotonic() - started < patience:
        time.sleep(0.5)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Sync, subscribe, complete, take the quiz with a generated client; print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.integration", description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    parser.add_argument("--completers", type=int, default=COMPLETERS)
    parser.add_argument("--patience", type=float, default=PATIENCE, help="seconds to wait for the webhooks")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PEOPLE} people, {QUICK_COMPLETERS} completers")
    parser.add_argument("--seconds", type=float, default=None, help="ignored (the other benches' option)")
    opts = parser.parse_args(argv)
    people = QUICK_PEOPLE if opts.quick else opts.people
    completers = min(people, QUICK_COMPLETERS if opts.quick else opts.completers)
    workdir = bench_site.workdir("integration")
    env = bench_site.bench_environment(workdir)
    # The receiver is on loopback over http; the bench's own task queue.
    env.update(ACADEMY_WEBHOOKS_PRIVATE_HOSTS=bench_site.HOST, Q_CLUSTER_NAME=f"bench-integration-{os.getpid()}")
    print(f"integration bench: {bench_site.describe(env)}; {people} people, {completers} completers; "
          f"data in {workdir}", flush=True)
    bench_site.setup_django(env)
    bench_site.seed_demo()
    course, cohorts, staff_token, feed = bench_sync.prepare(people, course_id=course_id(SYNC_COURSE))
    received = Received()
    hooks = receiver(received)
    received.secret = subscribe(f"http://{bench_site.HOST}:{hooks.server_address[1]}/academy-events")
    lessons = completable_lessons(course)
    academy = bench_site.academy_server(env, workdir, workers=1, task_worker=True).start()
    journey: _client.QuizJourney | None = None
    journey_error = ""
    try:
        bench_site.drain_task_queue()  # the demo's index updates, before anything is timed
        staff = bench_sync.Api(academy.port, staff_token)
        started = time.perf_counter()
        bench_sync.sync(staff, course, cohorts, feed)
        sync_s = time.perf_counter() - started
        sync_statuses = dict(staff.statuses)
        tokens = learner_tokens([person["email"] for person in feed[:completers]])
        started = time.perf_counter()
        lessons_done, courses_done, learner_statuses = complete_lessons(academy.port, tokens, lessons)
        complete_s = time.perf_counter() - started
        started = time.perf_counter()
        package = generated_package(academy.url, workdir / "client")
        generate_s = time.perf_counter() - started
        client = package.AuthenticatedClient(base_url=academy.url, token=quiz_learner_token(),
                                             raise_on_unexpected_status=True, timeout=120)
        started = time.perf_counter()
        try:
            journey = _client.quiz_journey(package, client, course_title=QUIZ_COURSE, answers=_client.DEMO_ANSWERS)
        except _client.JourneyFailed as exc:
            journey_error = str(exc)
        journey_s = time.perf_counter() - started
        quiz_completions = int(journey is not None and journey.completed_in_progress) + int(
            journey is not None and journey.course_completed)
        made = lessons_done + courses_done + quiz_completions
        waited = wait_for(received, made, opts.patience)
        time.sleep(2)  # any repeat or stray request still on its way
        delivery_rows = deliveries()
        delay_median, delay_max, attempts = delivery_delays()
    finally:
        academy.stop()
        hooks.shutdown()
        bench_site.drop_bench_data(env)

    throttled = sync_statuses.get(429, 0) + learner_statuses.get(429, 0)
    errors = sum(n for status, n in [*sync_statuses.items(), *learner_statuses.items()] if status >= 300)
    print_table(f"One run: sync of {people} people into two cohorts, completions, webhooks, generated client", [
        "step", "figure"], [
        ["HR sync (PUT each person, approve, enroll into 2 cohorts, report)", f"{sum(sync_statuses.values())} calls, "
         f"{sync_s:.1f} s, {sync_s * 1000 / people:.2f} ms per person"],
        ["learners completing every lesson through the API", f"{completers} x {len(lessons)} lessons, "
         f"{complete_s:.1f} s"],
        ["completions made (lessons + courses + the quiz)", f"{lessons_done} + {courses_done} + {quiz_completions} = {made}"],
        ["signed webhooks received (distinct event ids)", f"{received.unique} ({received.by_type}), after "
         f"{waited:.1f} s more"],
        ["requests at the receiver / bad signatures / repeated ids", f"{received.requests} / {received.invalid} / "
         f"{received.repeats}"],
        ["delivery rows by status", str(delivery_rows)],
        ["event to delivered (median / max), attempts in all", f"{delay_median:.1f} s / {delay_max:.1f} s, {attempts}"],
        ["client generated from /api/schema/", f"{generate_s:.1f} s"],
        ["generated client takes the demo quiz", (
            f"{len(journey.statuses)} typed calls, {journey.questions} questions, {journey.percent}%, passed "
            f"{journey.passed}, lesson completed in progress {journey.completed_in_progress}, {journey_s:.1f} s"
        ) if journey else f"FAILED: {journey_error}"],
    ])
    quiz_ok = journey is not None and journey.passed and journey.completed_in_progress
    hooks_ok = received.unique == made and received.invalid == 0 and received.repeats == 0
    print_table("Targets", ["measure", "value", "target", "verdict"], [
        ["429 answers (default limits)", str(throttled), "0", "met" if throttled == 0 else "NOT met"],
        ["errors", str(errors), "0", "met" if errors == 0 else "NOT met"],
        ["signed webhooks received = completions made", f"{received.unique} / {made}", "equal, all valid",
         "met" if hooks_ok else "NOT met"],
        ["generated client completes the demo quiz", str(quiz_ok), "True", "met" if quiz_ok else "NOT met"],
    ])
    return 0 if throttled == 0 and errors == 0 and hooks_ok and quiz_ok else 1


if __name__ == "__main__":
    sys.exit(main())
