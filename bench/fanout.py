"""Benchmark: live-update fan-out over WebSockets (issue 5).

Measured in one run, loopback only, server and load generator in separate processes:

1. Fan-out: one ``course.updated`` pushed with ``publish()`` to 1,000 sockets connected to two
   uvicorn server processes sharing the Redis channel layer; time until the last client has it,
   compared with a plain ``websockets.broadcast`` to 1,000 clients of a raw server (rounds are
   interleaved so both see the same machine). Every round checks that no client lost the frame.
2. Progress round trip: HTTP POST "complete lesson" to server B -> ``progress.updated`` on a
   socket of server A.
3. Idle capacity: authenticated idle sockets held by one server process and its resident memory.

Run: ``python -m bench.fanout`` (needs Redis: ``REDIS_URL``, default redis://127.0.0.1:6379/0).
Options: ``--clients``, ``--rounds``, ``--idle``, ``--lessons``, ``--event discussions.reply`` (each round
posts a reply through the discussions plugin: one reply fanned out to every socket of the lesson's course).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Patience for one round / one connection; bounded so a broken setup ends the run.
ROUND_TIMEOUT = 20.0
CONNECT_CONCURRENCY = 100


def raise_nofile() -> int:
    """Raise this process's open-file limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until ``port`` accepts connections (bounded)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- fixtures (run in this process, Django set up on the bench's own data directory) ------------


def build_fixtures(clients: int, lessons: int) -> dict[str, Any]:
    """A course with lessons, ``clients`` enrolled learners with login sessions, one learner
    for the round trip. Returns ids and session keys."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.cached_db import SessionStore
    from wagtail.models import Locale, Page, Site

    from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
    from learning import services

    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node()
    home = root.add_child(instance=HomePage(title="Bench home", slug=f"bench-{uuid.uuid4().hex[:6]}"))
    Site.objects.update_or_create(is_default_site=True, defaults={"root_page": home, "hostname": "127.0.0.1", "port": 80})
    catalog = home.add_child(instance=CourseIndexPage(title="Courses", slug="courses"))
    course = catalog.add_child(instance=CoursePage(
        title="Bench", slug="bench", summary="Bench course.", description="<p>Bench.</p>",
    ))
    course.save_revision().publish()
    made = []
    for n in range(1, lessons + 1):
        lesson = course.add_child(instance=LessonPage(title=f"Lesson {n}", slug=f"lesson-{n}", summary="Read."))
        lesson.save_revision().publish()
        made.append(lesson.pk)

    user_model = get_user_model()
    unusable = make_password(None)
    user_model.objects.bulk_create(
        [user_model(username=f"bench{n}", password=unusable) for n in range(clients + 1)], batch_size=500
    )
    users = list(user_model.objects.filter(username__startswith="bench").order_by("pk"))
    sessions = []
    for user in users:
        services.enrollment_request(user=user, course=course)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    return {"course_id": course.pk, "lesson_ids": made, "sessions": sessions[1:], "learner_session": sessions[0]}


def publish_course_update(course_id: int, n: int) -> int:
    """Push one course.updated through the product's publish(); returns the event id."""
    from realtime import groups
    from realtime.publish import publish

    data = {"course_id": course_id, "page_id": course_id, "page_type": "lesson",
            "title": f"Lesson 1 (revised {n})", "url": "/courses/bench/lesson-1/"}
    return publish(group=groups.course(course_id), event_type="course.updated", data=data).pk


def publish_discussion_reply(course_id: int, lesson_id: int, n: int) -> int:
    """One reply in a thread of the lesson through the discussions plugin's service (its
    ``discussions.reply`` frame on the course's stream); returns the frame's event id."""
    from django.contrib.auth import get_user_model

    from plugins.discussions import services
    from plugins.discussions.models import Thread
    from realtime.models import Event

    asker, replier = get_user_model().objects.filter(username__startswith="bench").order_by("pk")[:2]
    thread = Thread.objects.filter(course_id=course_id, lesson_id=lesson_id).first()
    if thread is None:
        place = services.readable_place(asker, lesson_id=lesson_id)
        thread = services.thread_create(user=asker, place=place, kind="question", title="Bench question", body="Why?")
    found, place = services.thread_for(replier, thread.pk)
    services.reply_create(user=replier, thread=found, place=place, body=f"Reply {n}")
    return Event.objects.filter(group=f"course.{course_id}", type="discussions.reply").latest("pk").pk


# --- clients -------------------------------------------------------------------------------


class Fleet:
    """Many WebSocket clients in this process, recording when each frame id arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[int, list[float]] = {}
        self.waiters: dict[int, tuple[int, asyncio.Event]] = {}
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = 0

    async def connect(self, urls: list[str], headers: Callable[[int], dict[str, str]], origin: Callable[[str], str],
                      resume: bool) -> None:
        """Open one socket per url (bounded concurrency); with ``resume`` wait for "resumed"."""
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(index: int, url: str) -> None:
            async with gate:
                ws = await connect(url, origin=origin(url), additional_headers=headers(index),  # type: ignore[arg-type]
                                   compression=None, open_timeout=60, ping_interval=None, max_queue=None)
                if resume:
                    await ws.send('{"type":"resume","since":null}')
                    while json.loads(await ws.recv()).get("type") != "resumed":
                        pass
                self.sockets.append(ws)
                self.ready += 1
                self.tasks.append(asyncio.create_task(self.listen(ws)))

        await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))

    async def listen(self, ws: Any) -> None:
        """Record the arrival time of every frame with an id."""
        try:
            async for message in ws:
                now = time.perf_counter()
                frame_id = json.loads(message).get("id")
                if frame_id is None:
                    continue
                self.arrivals.setdefault(frame_id, []).append(now)
                waiter = self.waiters.get(frame_id)
                if waiter is not None and len(self.arrivals[frame_id]) >= waiter[0]:
                    waiter[1].set()
        except Exception:
            pass

    async def wait_for(self, frame_id: int, count: int) -> list[float]:
        """Arrival times of ``frame_id`` once ``count`` clients have it (or the round times out)."""
        event = asyncio.Event()
        self.waiters[frame_id] = (count, event)
        if len(self.arrivals.get(frame_id, [])) >= count:
            event.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=ROUND_TIMEOUT)
        return self.arrivals.get(frame_id, [])

    async def close(self) -> None:
        """Close every socket."""
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        self.sockets.clear()


# --- the run ---------------------------------------------------------------------------------------


def start_server(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a child process (its own process group) logging to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def run_bench(opts: argparse.Namespace, env: dict[str, str], fixtures: dict[str, Any], workdir: Path) -> list[tuple[str, str]]:
    """Start the servers, run the three measurements, return the table rows."""
    import requests

    rows: list[tuple[str, str]] = []
    ports = [free_port(), free_port()]
    raw_port = free_port()
    servers = [
        start_server([sys.executable, "-m", "uvicorn", "siteconfig.asgi:application", "--host", "127.0.0.1",
                      "--port", str(port), "--no-access-log", "--ws-max-size", "65536", "--log-level", "warning",
                      "--ws", opts.ws],
                     env, workdir / f"uvicorn-{port}.log")
        for port in ports
    ]
    raw = start_server([sys.executable, "-m", "bench.realtime_raw", "--port", str(raw_port)], env, workdir / "raw.log")
    try:
        for port, process in [*zip(ports, servers, strict=True), (raw_port, raw)]:
            wait_port(port, process)
        from websockets.asyncio.client import connect

        sessions: list[str] = fixtures["sessions"]
        n = opts.clients
        course_path = f"/ws/courses/{fixtures['course_id']}/"
        channel_urls = [f"ws://127.0.0.1:{ports[i % 2]}{course_path}" for i in range(n)]

        def cookie(index: int) -> dict[str, str]:
            return {"Cookie": f"sessionid={sessions[index % len(sessions)]}"}

        def origin_of(url: str) -> str:
            return "http://" + url.split("/")[2]

        fleet_channels, fleet_raw = Fleet(), Fleet()
        await fleet_channels.connect(channel_urls, cookie, origin_of, resume=True)
        await fleet_raw.connect([f"ws://127.0.0.1:{raw_port}/"] * n, lambda i: {}, origin_of, resume=False)
        control = await connect(f"ws://127.0.0.1:{raw_port}/control", compression=None)

        channels_last, raw_last, per_client = [], [], []
        lost = 0
        for r in range(opts.rounds):
            # Raw broadcast round (ids counted down from -1 so they never meet event ids).
            raw_id = -(r + 1)
            t0 = time.perf_counter()
            await control.send(f"go {raw_id}")
            got = await fleet_raw.wait_for(raw_id, n)
            raw_last.append(max(got) - t0)
            # Channels round: publish() from this process, delivered by both servers.
            t0 = time.perf_counter()
            if opts.event == "discussions.reply":
                event_id = await asyncio.to_thread(publish_discussion_reply, fixtures["course_id"], fixtures["lesson_ids"][0], r)
            else:
                event_id = await asyncio.to_thread(publish_course_update, fixtures["course_id"], r)
            got = await fleet_channels.wait_for(event_id, n)
            lost += n - len(got)
            if got:
                channels_last.append(max(got) - t0)
                per_client.extend(t - t0 for t in got)
            await asyncio.sleep(0.05)
        await control.close()

        ms = 1000.0
        c50, c99 = pct(channels_last, 50), pct(channels_last, 99)
        r50, r99 = pct(raw_last, 50), pct(raw_last, 99)
        rows += [
            ("fan-out clients (2 uvicorn processes, Redis layer)", f"{fleet_channels.ready} of {n}"),
            ("rounds", str(opts.rounds)),
            ("raw websockets.broadcast: time to last client p50 / p99", f"{r50 * ms:.1f} / {r99 * ms:.1f} ms"),
            (f"Channels publish() of {opts.event}: time to last client p50 / p99", f"{c50 * ms:.1f} / {c99 * ms:.1f} ms"),
            ("ratio Channels / raw (p50 time to last client)", f"{c50 / r50:.2f}x"),
            ("Channels p99/p50 (time to last client)", f"{c99 / c50:.2f}"),
            ("Channels per-client delivery p50 / p99", f"{pct(per_client, 50) * ms:.1f} / {pct(per_client, 99) * ms:.1f} ms"),
            ("frames lost (all rounds)", str(lost)),
        ]
        await fleet_channels.close()
        await fleet_raw.close()

        # --- progress round trip: HTTP complete on server B -> WS progress.updated on server A ---
        learner = fixtures["learner_session"]
        progress_ws = await connect(f"ws://127.0.0.1:{ports[0]}/ws/progress/", origin=f"http://127.0.0.1:{ports[0]}",
                                    additional_headers={"Cookie": f"sessionid={learner}"}, compression=None)
        await progress_ws.send('{"type":"resume","since":null}')
        while json.loads(await progress_ws.recv()).get("type") != "resumed":
            pass
        http = requests.Session()
        csrf = uuid.uuid4().hex
        http.cookies.set("sessionid", learner)
        http.cookies.set("csrftoken", csrf)
        trips = []
        for lesson_id in fixtures["lesson_ids"]:
            t0 = time.perf_counter()
            response = await asyncio.to_thread(
                http.post, f"http://127.0.0.1:{ports[1]}/api/v1/progress/", json={"lesson_id": lesson_id},
                headers={"X-CSRFToken": csrf, "Origin": f"http://127.0.0.1:{ports[1]}",
                         "Referer": f"http://127.0.0.1:{ports[1]}/"},
                timeout=30,
            )
            response.raise_for_status()
            while True:
                frame = json.loads(await asyncio.wait_for(progress_ws.recv(), timeout=ROUND_TIMEOUT))
                if frame.get("type") == "progress.updated" and frame["data"]["lesson_id"] == lesson_id:
                    break
            trips.append(time.perf_counter() - t0)
        await progress_ws.close()
        rows.append((f"progress round trip HTTP -> WS p50 / p99 (n={len(trips)})",
                     f"{pct(trips, 50) * ms:.1f} / {pct(trips, 99) * ms:.1f} ms"))

        # --- idle capacity of one server process ---
        server_pid = servers[0].pid
        await asyncio.sleep(1.0)
        before = rss_mib(server_pid)
        idle = Fleet()
        started = time.perf_counter()
        await idle.connect([f"ws://127.0.0.1:{ports[0]}/ws/notifications/"] * opts.idle, cookie, origin_of, resume=True)
        took = time.perf_counter() - started
        await asyncio.sleep(2.0)
        after = rss_mib(server_pid)
        alive = sum(1 for ws in idle.sockets if ws.state.name == "OPEN")
        rows += [
            ("idle authenticated sockets held by one server process", f"{alive} of {opts.idle}"),
            ("server RSS before / with them", f"{before:.0f} / {after:.0f} MiB"),
            ("RSS per idle socket", f"{(after - before) * 1024 / max(1, alive):.1f} KiB"),
            ("connect rate (handshake + auth + resume)", f"{opts.idle / took:.0f} sockets/s"),
        ]
        await idle.close()
        return rows
    finally:
        for process in [*servers, raw]:
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in [*servers, raw]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


def main(argv: list[str] | None = None) -> int:
    """Set up a private data directory and Redis prefix, run, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--lessons", type=int, default=30)
    parser.add_argument("--event", default="course.updated", choices=["course.updated", "discussions.reply"],
                        help="what each round pushes: a course.updated frame, or a reply posted through the "
                        "discussions plugin (its discussions.reply frame)")
    parser.add_argument("--ws", default="auto", help="uvicorn's WebSocket implementation (auto, websockets, "
                        "websockets-sansio, wsproto)")
    opts = parser.parse_args(argv)
    limit = raise_nofile()

    workdir = Path(tempfile.mkdtemp(prefix="academy-bench-fanout-"))
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        ACADEMY_DATA_DIR=str(workdir),
        REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        ACADEMY_CACHE_PREFIX=prefix,
        DJANGO_SETTINGS_MODULE="siteconfig.settings",
        DJANGO_DEBUG="1",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # --event discussions.reply posts a reply per round: the posting limit is not measured.
        DISCUSSIONS_POST_RATE="1000000/1h",
    )
    os.environ.clear()
    os.environ.update(env)
    import redis

    try:
        redis.Redis.from_url(env["REDIS_URL"], socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        print(f"fan-out bench skipped: it needs Redis (REDIS_URL={env['REDIS_URL']}): {exc}")
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print(f"fan-out bench: data in {workdir}, Redis {env['REDIS_URL']} (prefix {prefix}), open-file limit {limit}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    fixtures = build_fixtures(opts.clients, opts.lessons)
    import gc

    gc.freeze()  # the load generator's own collections must not stall its clients
    try:
        rows = asyncio.run(run_bench(opts, env, fixtures, workdir))
    finally:
        from django.core.cache import cache

        cache.delete_pattern("*")  # type: ignore[attr-defined]
        client = redis.Redis.from_url(env["REDIS_URL"])
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    width = max(len(name) for name, _ in rows)
    print()
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
