"""Fixtures of the webhooks plugin's tests: a real HTTP receiver on a free port (a
``ThreadingHTTPServer`` in a thread) that records every request and answers as told, a course
with an enrolled learner, and a site manager who may manage webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest
from django.contrib.auth.models import Permission

from learning import services as learning_services
from tests.courses.helpers import Tree, make_tree
from tests.learning.conftest import IMMEDIATE_TASKS, make_user
from tests.tasks.conftest import broker_name, queue, worker_factory  # noqa: F401

# How long the receiver holds a request it was told to block (a hang fails, never a pass).
BLOCK_SECONDS = 120


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records requests; answers each with the next of ``answers`` (then ``default``), or holds
    it while ``blocking`` is set."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default: int = 200
    blocking: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def record(self, received: Received) -> int | None:
        """Store a request; the status to answer, or None to hold it."""
        with self._lock:
            self.requests.append(received)
            if self.blocking.is_set():
                return None
            return self.answers.pop(0) if self.answers else self.default

    def ids(self) -> list[str]:
        with self._lock:
            return [r.headers["Webhook-Id"] for r in self.requests]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.record(Received(self.path, dict(self.headers.items()), body))
            if status is None:
                receiver.release.wait(BLOCK_SECONDS)
                return  # hold, then drop the connection without an answer
            payload = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 (a host the settings allow over http)."""
    settings.WEBHOOKS_PRIVATE_HOSTS = ["127.0.0.1"]
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def wait_until(predicate: Any, what: str, patience: float = 60) -> Any:
    """Poll ``predicate`` until truthy; fail the test if it never is."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    """Wagtail's index updates inline; the default settings of the plugin."""
    settings.TASKS = IMMEDIATE_TASKS
    settings.WEBHOOKS_BACKOFF = None
    settings.WEBHOOKS_MAX_ATTEMPTS = None
    settings.WEBHOOKS_DISABLE_AFTER = None


@pytest.fixture
def tree(db: None) -> Tree:
    """Home > Courses > Python basics (open, 3 lessons), Databases with SQL (approval, 1 lesson)."""
    return make_tree()


@pytest.fixture
def learner(tree: Tree) -> Any:
    """Ada, enrolled in Python basics."""
    user = make_user("ada")
    learning_services.enrollment_request(user=user, course=tree.python)
    return user


def grant(user: Any, *codenames: str) -> Any:
    """Give ``user`` Wagtail admin access and the webhooks permissions named."""
    user.user_permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"))
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="webhooks", codename=codename))
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def manager(db: None) -> Any:
    """A site manager who may manage webhooks (not a superuser)."""
    return grant(make_user("manager"), "view_subscription", "change_subscription", "add_subscription")


@pytest.fixture
def viewer_user(db: None) -> Any:
    """Staff who may see webhooks and their log, not change them."""
    return grant(make_user("watcher"), "view_subscription")
