"""Builders and harness for the realtime tests: content, logged-in sessions, communicators,
child processes (uvicorn, manage.py shell, a private redis-server) sharing the test database."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from wagtail.models import Locale, Page, Site

from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
from realtime.relay import relay

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = b"http://127.0.0.1"
PASSWORD = "correct-horse-battery-9"
# Patience for another process or a frame; a hang fails the test. Never a speed assertion.
PATIENCE = 30.0


@dataclass
class SiteTree:
    """A home page, catalog, two courses (one open, one approval-required) and lessons."""

    home: HomePage
    course: CoursePage
    lessons: list[LessonPage]
    other_course: CoursePage
    approval_course: CoursePage


def build_site(lessons: int = 3) -> SiteTree:
    """Create the page tree (Wagtail's root is recreated when a flush removed it)."""
    Locale.objects.get_or_create(language_code="en")
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="Home", slug=f"home-{uuid.uuid4().hex[:8]}"))
    Site.objects.update_or_create(
        is_default_site=True, defaults={"root_page": home, "hostname": "127.0.0.1", "port": 80}
    )
    catalog = home.add_child(instance=CourseIndexPage(title="Courses", slug="courses"))

    def course(slug: str, mode: str = "open") -> CoursePage:
        return catalog.add_child(instance=CoursePage(
            title=slug.title(), slug=slug, summary="A course.", description="<p>About it.</p>",
            enrollment_mode=mode,
        ))

    main = course("python")
    made = [
        main.add_child(instance=LessonPage(title=f"Lesson {n}", slug=f"lesson-{n}", summary="Read me."))
        for n in range(1, lessons + 1)
    ]
    other = course("rust")
    other.add_child(instance=LessonPage(title="Rust 1", slug="rust-1", summary="Read me."))
    approval = course("paid", mode="approval")
    approval.add_child(instance=LessonPage(title="Paid 1", slug="paid-1", summary="Read me."))
    # Published through revisions, as editors do (first_published_at is set once).
    for page in [main, *made, other, approval]:
        page.save_revision().publish()
    return SiteTree(home=home, course=main, lessons=made, other_course=other, approval_course=approval)


def make_user(username: str, **extra: Any) -> Any:
    """An active user with a known password."""
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


def login_cookie(user: Any) -> tuple[Client, str]:
    """A logged-in test client and its session key (the WebSocket's session cookie)."""
    client = Client()
    client.force_login(user)
    return client, client.cookies["sessionid"].value


def headers(session_key: str | None = None, origin: bytes | None = ORIGIN) -> list[tuple[bytes, bytes]]:
    """Handshake headers: the session cookie and an Origin (None leaves it out)."""
    result = [(b"host", b"127.0.0.1")]
    if origin is not None:
        result.append((b"origin", origin))
    if session_key:
        result.append((b"cookie", f"sessionid={session_key}".encode()))
    return result


# The communicators a scenario opened, which ``run`` disconnects when it ends.
_opened: list[WebsocketCommunicator] = []


def communicator(path: str, session_key: str | None = None, origin: bytes | None = ORIGIN) -> WebsocketCommunicator:
    """A WebsocketCommunicator on the project's full ASGI application (origin check, auth)."""
    from siteconfig.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers(session_key, origin))
    _opened.append(comm)
    return comm


async def _disconnect_opened() -> None:
    """Disconnect, one at a time, every consumer of the scenario that is still running (one the
    server closed still waits for the client's disconnect, as under a real server). Left
    running, they are all cancelled at once when the loop closes, and channels_redis' shared
    receive can then wait forever (seen once under load: the test hung in asyncio's
    ``_cancel_all_tasks`` after its last assertion passed)."""
    while _opened:
        comm = _opened.pop()
        if not comm.future.done():
            with contextlib.suppress(Exception):
                await comm.disconnect(timeout=PATIENCE)


async def receive(comm: WebsocketCommunicator) -> dict[str, Any]:
    """The next JSON frame (fails on a close or after PATIENCE)."""
    output = await comm.receive_output(timeout=PATIENCE)
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def receive_event(comm: WebsocketCommunicator) -> dict[str, Any]:
    """The next stored-event frame, skipping control frames (pong, resumed)."""
    while True:
        frame = await receive(comm)
        if "id" in frame:
            return frame


async def receive_close(comm: WebsocketCommunicator) -> int:
    """The close code of the next output, which must be a close."""
    output = await comm.receive_output(timeout=PATIENCE)
    assert output["type"] == "websocket.close", output
    return output.get("code", 1000)


async def resume(comm: WebsocketCommunicator, since: int | None) -> list[dict[str, Any]]:
    """Send resume and collect the replayed frames up to and including ``resumed``."""
    await comm.send_json_to({"type": "resume", "since": since})
    frames = []
    while True:
        frame = await receive(comm)
        frames.append(frame)
        if frame["type"] == "resumed":
            return frames


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario on a fresh loop; stop this loop's outbox relay afterwards."""

    async def wrapper() -> None:
        _opened.clear()  # a communicator made outside ``run`` belonged to another loop
        try:
            await scenario()
        finally:
            await _disconnect_opened()
            await relay.stop()

    async_to_sync(wrapper)()


adb = sync_to_async  # thread-sensitive: runs in the test's thread, on the test database


# --- child processes -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that was free a moment ago (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process on the committed test database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.realtime.server_settings",
        ACADEMY_TEST_DATABASE_NAME=str(connection.settings_dict["NAME"]),
        PYTHONUNBUFFERED="1",
        # Its own cache key space: the file cache in ACADEMY_DATA_DIR outlives a test (and
        # Wagtail caches site root paths there), while this test's pages are new.
        ACADEMY_CACHE_PREFIX=f"t{uuid.uuid4().hex[:10]}",
    )
    env.update(overrides)
    return env


def manage_shell(code: str, **env: str) -> str:
    """Run ``manage.py shell -c code`` in another process on the test database; its stdout."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=child_env(**env), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``port`` accepts connections (fail with the log if the process died)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process exited: {log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"port {port} never opened: {log.read_text()[-3000:]}")


class Uvicorn:
    """``uvicorn siteconfig.asgi:application`` in its own process, on the test database."""

    def __init__(self, log: Path, **env: str) -> None:
        self.port = free_port()
        self.log = log
        self.env = child_env(**env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Uvicorn:
        """Start and wait until it listens."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "siteconfig.asgi:application", "--host", "127.0.0.1",
                 "--port", str(self.port), "--no-access-log", "--ws-max-size", "65536", "--no-proxy-headers"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        wait_port(self.port, self.process, self.log)
        return self

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Terminate (then kill) the server."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class PrivateRedis:
    """A redis-server of our own on a free port (the shared server is never restarted)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        """Start (again, on the same port) and wait until it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        log = self.workdir / "redis.log"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.process, log)
        return self

    @property
    def url(self) -> str:
        """redis://127.0.0.1:<port>/0"""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server (its data goes with it: nothing is saved)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
