"""A production-mode Academy for the page and load benchmarks (a helper module: no ``main``).

Its own database (a fresh ``<name>_bench`` database on the PostgreSQL server of ``DATABASE_URL``,
else a SQLite file in a temporary folder), its own cache key prefix on the Redis of ``REDIS_URL``
(when set), production settings (``DJANGO_DEBUG=0``; plain HTTP on loopback), the demo content
plus generated courses, learners with login sessions, and the server processes to measure:
``manage.py run_academy`` as ``make run`` starts it and, as the floor, gunicorn's sync worker.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import ROOT, free_port

HOST = "127.0.0.1"
TRIVIAL_PATH = "/bench/trivial/"
# base.html around no content, for a logged-in learner: the floor of every logged-in page.
CHROME_PATH = "/bench/chrome/"
# Header the page cache sets on anonymous page responses (hit or miss).
CACHE_HEADER = "X-Cache"
SERVER_START_PATIENCE = 120.0
# How long a task worker may take over the tasks the site's setup queued.
QUEUE_DRAIN_PATIENCE = 180.0
# A server has settled once no process of it started for this long.
SETTLE_SECONDS = 2.0
# Rows per INSERT when the bench makes learners in bulk.
BULK_BATCH = 500


# --- environment -----------------------------------------------------------------------------


def fresh_postgres_url(url: str) -> str:
    """Create (or re-create) ``<name>_bench`` on the server of ``url``; its URL."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'academy'}_bench"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def bench_environment(workdir: Path) -> dict[str, str]:
    """Production settings on the bench's own data (database, cache prefix, folder)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="bench._server_settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=f"{HOST},localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        ACADEMY_TASK_LOG_LEVEL="WARNING",
        ACADEMY_DATA_DIR=str(workdir),
        ACADEMY_CACHE_PREFIX=f"bench{uuid.uuid4().hex[:8]}",
        # The bench's learners are made up: their mail is logged on purpose (academy.E002).
        EMAIL_URL="console://",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = fresh_postgres_url(env["DATABASE_URL"])
    if not env.get("REDIS_URL"):
        env.pop("REDIS_URL", None)
    return env


def describe(env: dict[str, str]) -> str:
    """Which configuration the bench runs on."""
    database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
    redis = "Redis" if env.get("REDIS_URL") else "no Redis"
    return f"{database} + {redis}, DJANGO_DEBUG=0"


def setup_django(env: dict[str, str]) -> None:
    """Use ``env`` in this process, migrate, collect static files and set Django up."""
    os.environ.clear()
    os.environ.update(env)
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    import django

    django.setup()


# --- content ---------------------------------------------------------------------------------


@dataclass
class Course:
    """A published course and its lessons' URLs."""

    pk: int
    url: str
    lesson_ids: list[int]
    lesson_urls: list[str]
    # Lessons a learner completes with the "mark complete" button (a quiz completes by its result).
    completable_ids: list[int] = field(default_factory=list)


@dataclass
class Content:
    """What the site holds and where."""

    courses: list[Course] = field(default_factory=list)

    @property
    def course_count(self) -> int:
        """Published courses in the catalog."""
        return len(self.courses)


def seed_demo() -> Content:
    """The demo site of ``manage.py seed_demo`` (3 courses)."""
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    return load_content()


def load_content() -> Content:
    """Every live course with its live lessons, in tree order."""
    from courses.models import CoursePage, LessonPage

    lessons: dict[str, list[LessonPage]] = {}
    fields = ("id", "path", "url_path", "depth", "title", "content_type")
    for lesson in LessonPage.objects.live().order_by("path").only(*fields):
        lessons.setdefault(lesson.path[: -lesson.steplen], []).append(lesson)
    content = Content()
    for course in CoursePage.objects.live().order_by("path"):
        mine = lessons.get(course.path, [])
        content.courses.append(Course(
            pk=course.pk, url=course.get_url(), lesson_ids=[lesson.pk for lesson in mine],
            lesson_urls=[lesson.get_url() for lesson in mine],
            completable_ids=[lesson.pk for lesson in mine if lesson.specific_class.offers_mark_complete],
        ))
    return content


def add_courses(count: int, *, lessons: int) -> Content:
    """Add ``count`` open, published courses with ``lessons`` lessons each under the catalog.

    Pages are created live (as a publish leaves them), without revision history: the benchmark
    reads them, it does not edit them.
    """
    from django.utils import timezone

    from courses.models import CourseIndexPage, CoursePage, LessonPage

    catalog = CourseIndexPage.objects.get()
    now = timezone.now()
    start = CoursePage.objects.count()
    for n in range(start + 1, start + count + 1):
        course = catalog.add_child(instance=CoursePage(
            title=f"Generated course {n}", slug=f"generated-{n}", summary=f"Generated course number {n}.",
            description=f"<p>What generated course {n} teaches.</p>", live=True, first_published_at=now,
            last_published_at=now,
        ))
        for m in range(1, lessons + 1):
            course.add_child(instance=LessonPage(
                title=f"Lesson {m} of {n}", slug=f"lesson-{m}", summary="Read this.", live=True,
                first_published_at=now, last_published_at=now,
            ))
    return load_content()


def make_learner(username: str, courses: list[Course]) -> tuple[int, str]:
    """A learner actively enrolled in ``courses`` with a login session; (user id, session key).

    One learner of ``make_learners``.
    """
    return make_learners([(username, courses)])[0]


def make_learners(wanted: list[tuple[str, list[Course]]]) -> list[tuple[int, str]]:
    """Learners (username, courses to be actively enrolled in) with a login session each, made
    in bulk without the sign-up form (which is rate-limited); (user id, session key) of each, in
    order.

    What a login leaves behind, written directly: the user (every one shares one password
    hash, computed once: hashing is slow on purpose, 500 of them would take minutes), the
    session in the ``cached_db`` engine's two places (the database row and the cache entry,
    so the first request is a cache hit as after a real login), and the ``LoginSession``
    record "log out everywhere" uses. Enrollment rows carry the cached progress the services
    would have computed (nothing done yet: next and resume lesson are the first lesson).
    """
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX, SessionStore
    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from learning.models import Enrollment, LoginSession

    if not wanted:
        return []
    user_model = get_user_model()
    password = make_password(secrets.token_urlsafe(16))
    now = timezone.now()
    with transaction.atomic():
        user_model.objects.bulk_create(
            [user_model(username=username, email=f"{username}@bench.invalid", password=password)
             for username, _courses in wanted],
            batch_size=BULK_BATCH,
        )
        # Primary keys read back by name: not every backend returns them from a bulk insert.
        users = user_model.objects.in_bulk([username for username, _courses in wanted], field_name="username")
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    user=users[username], course_id=course.pk, status=Enrollment.Status.ACTIVE, activated_at=now,
                    total_lessons=len(course.lesson_ids),
                    next_lesson_id=course.lesson_ids[0] if course.lesson_ids else None,
                    resume_lesson_id=course.lesson_ids[0] if course.lesson_ids else None,
                )
                for username, courses in wanted for course in courses
            ],
            batch_size=BULK_BATCH,
        )
        encoder = SessionStore()
        expires = now + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
        sessions: dict[str, dict[str, str]] = {}
        made: list[tuple[int, str]] = []
        for username, _courses in wanted:
            user = users[username]
            key = get_random_string(32, VALID_KEY_CHARS)
            sessions[key] = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            made.append((user.pk, key))
        Session.objects.bulk_create(
            [Session(session_key=key, session_data=encoder.encode(data), expire_date=expires)
             for key, data in sessions.items()],
            batch_size=BULK_BATCH,
        )
        LoginSession.objects.bulk_create(
            [LoginSession(user_id=user_id, session_key=key) for user_id, key in made], batch_size=BULK_BATCH,
        )
    caches[settings.SESSION_CACHE_ALIAS].set_many(
        {KEY_PREFIX + key: data for key, data in sessions.items()}, timeout=settings.SESSION_COOKIE_AGE,
    )
    return made


def session_cookie(session_key: str, csrf_secret: str = "") -> str:
    """The Cookie header of a logged-in browser (the cookies are Secure in production, so a
    client on plain-HTTP loopback sends them by hand)."""
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    if csrf_secret:
        cookie += f"; {settings.CSRF_COOKIE_NAME}={csrf_secret}"
    return cookie


def csrf_secret() -> str:
    """A CSRF secret a client may send as both cookie and X-CSRFToken (Django accepts the
    unmasked 32-character secret)."""
    from django.middleware.csrf import _get_new_csrf_string

    return _get_new_csrf_string()


# --- servers ---------------------------------------------------------------------------------


class Server:
    """A server process group on a free loopback port."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://{HOST}:{self.port}"

    def start(self) -> Server:
        """Start and wait until it answers /healthz."""
        import urllib.request

        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_PATIENCE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}{TRIVIAL_PATH}", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} never answered: {self.log.read_text()[-2000:]}")

    def pids(self) -> list[int]:
        """The server's processes (the supervisor and its descendants)."""
        if self.process is None:
            return []
        found = [self.process.pid]
        for pid in found:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                found.extend(int(child) for child in children.read_text().split())
        return found

    def wait_for_processes(self, web_processes: int, patience: float = SERVER_START_PATIENCE) -> list[int]:
        """Wait until ``web_processes`` web processes run (``start`` returns as soon as one
        answers) and no process has started for a while (the task cluster starts its own
        later); the server's processes."""
        deadline = time.monotonic() + patience
        pids = self.pids()
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.pids()
            if now != pids:
                pids, stable_since = now, time.monotonic()
            elif len(web_processes_of(pids)) >= web_processes and time.monotonic() - stable_since >= SETTLE_SECONDS:
                break
        return pids

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def usable_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def web_worker_default(env: dict[str, str]) -> int:
    """Web processes ``run_academy`` starts without ``--workers`` (``ACADEMY_WEB_WORKERS``, else
    one per usable core)."""
    configured = env.get("ACADEMY_WEB_WORKERS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else usable_cores()


def academy_server(env: dict[str, str], workdir: Path, *, workers: int | None = None, task_worker: bool = False,
                   name: str = "academy") -> Server:
    """``manage.py run_academy`` (uvicorn + Django's WSGI handler on threads), as ``make run``."""
    port = free_port()
    command = [sys.executable, "manage.py", "run_academy", "--host", HOST, "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    if not task_worker:
        command.append("--no-worker")
    return Server(name, command, env, port, workdir / f"{name}.log")


def wsgi_floor_server(env: dict[str, str], workdir: Path) -> Server:
    """gunicorn, one sync worker: the WSGI floor of the same Django project and settings."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"{HOST}:{port}",
               "--log-level", "warning", "siteconfig.wsgi:application"]
    return Server("gunicorn", command, env, port, workdir / "gunicorn.log")


def drain_task_queue(patience: float = QUEUE_DRAIN_PATIENCE) -> tuple[int, float]:
    """Wait until the running server's task worker has run every queued task (building the site
    queues search index and reference index updates, hundreds of them, which would otherwise run
    during the first measured round); (tasks queued at first, seconds waited).

    On the ORM broker a task's row stays until the task succeeded, so the rows left count the
    tasks taken but still running too (the cluster takes them in batches); the Redis broker only
    tells how many wait.
    """
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM

    broker = get_broker()

    def unfinished() -> int:
        if isinstance(broker, ORM):
            return int(broker.get_connection().filter(key=broker.list_key).count())
        return int(broker.queue_size() or 0)

    started = time.monotonic()
    first = left = unfinished()
    while left and time.monotonic() - started < patience:
        time.sleep(0.5)
        left = unfinished()
    return first, time.monotonic() - started


def command_line(pid: int) -> str:
    """A process's command line ("" when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def process_label(pid: int, command_lines: dict[int, str]) -> str:
    """A short name for a server process: what it runs, and its pid."""
    command = command_lines.get(pid, "")
    for needle, label in (("run_academy", "run_academy (supervisor)"), ("qcluster", "qcluster"),
                          ("resource_tracker", "multiprocessing resource tracker"),
                          ("spawn_main", "uvicorn worker"), ("uvicorn", "uvicorn")):
        if needle in command:
            return f"{label} {pid}"
    return f"{command[:40]} {pid}"


def parent_of(pid: int) -> int:
    """The parent process id of ``pid`` (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def web_processes_of(pids: list[int]) -> list[int]:
    """Which of a ``run_academy`` server's processes serve requests: uvicorn's worker processes
    (its multiprocessing resource tracker aside), or uvicorn itself when it runs one worker
    in-process."""
    uvicorn = [pid for pid in pids if "uvicorn" in command_line(pid) and "spawn_main" not in command_line(pid)]
    workers = [pid for pid in pids if parent_of(pid) in uvicorn and "spawn_main" in command_line(pid)]
    return workers or uvicorn


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- wrk -------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class WrkResult:
    """What one wrk run measured."""

    p50_ms: float
    p99_ms: float
    rps: float
    requests: int
    errors: int


def wrk(
    url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None, post: str | None = None,
) -> WrkResult:
    """Run wrk (one thread) against ``url``; non-2xx/3xx answers and socket errors are errors.

    ``post``: send this form-encoded body with POST instead of a GET."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if post is not None:
            script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(post)}\n'
                         'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
            script.flush()
            command += ["-s", script.name]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    latencies = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if set(latencies) != {"50", "99"}:
        raise RuntimeError(f"wrk measured nothing for {url}:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return WrkResult(
        p50_ms=_ms(latencies["50"]), p99_ms=_ms(latencies["99"]),
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        requests=requests, errors=errors,
    )


def has_wrk() -> bool:
    """Whether wrk (Debian package ``wrk``) is installed."""
    return shutil.which("wrk") is not None


def workdir(prefix: str) -> Path:
    """A fresh temporary folder for one benchmark's data and logs."""
    return Path(tempfile.mkdtemp(prefix=f"academy-bench-{prefix}-"))


def drop_bench_data(env: dict[str, str]) -> None:
    """Remove the bench's cache keys from a shared Redis (its database is dropped next run)."""
    if not env.get("REDIS_URL"):
        return
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    for key in client.scan_iter(f"{env['ACADEMY_CACHE_PREFIX']}:*"):
        client.delete(key)


def as_dict(result: Any) -> dict[str, Any]:
    """A dataclass as a dict (for JSON)."""
    return dict(result.__dict__)
