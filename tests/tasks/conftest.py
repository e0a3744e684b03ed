"""Real parts for the background-work tests: an SMTP server (aiosmtpd), the task queue, and a
real ``manage.py qcluster`` worker process sharing the test database.

- ``smtp``: an aiosmtpd server on a free port, with Django's EMAIL_* settings pointed at it. It
  records every accepted message; ``smtp.stall()`` makes it hold each connection (before it
  accepts the recipient) until ``smtp.recover()``.
- ``run_queued_tasks()``: takes the tasks waiting on the broker and runs them in this process
  (what a worker does), for tests that need the task's effect but not a second process.
- ``worker``: starts ``manage.py qcluster`` in its own process group, on the test database
  (a file for SQLite, see settings ``TASKS`` section; the test database for PostgreSQL), so
  tests can SIGKILL it and start another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils.module_loading import import_string
from django_q.brokers import Broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.signing import SignedPackage

ROOT = Path(__file__).resolve().parents[2]
# Upper bound for waiting on another process; a hang fails the test instead of blocking CI.
# Never an assertion on speed.
PATIENCE_SECONDS = 90


def wait_for(
    predicate: Callable[[], Any], what: str, worker: WorkerProcess | None = None, patience: float = PATIENCE_SECONDS
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test if it never does
    (showing the worker's log, read at that moment)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    detail = f"; worker log:\n{worker.log()}" if worker else ""
    pytest.fail(f"gave up waiting for {what}{detail}")


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """The handler of the aiosmtpd server: records messages, can stall, keeps a timeline."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    stall_seconds: float = 0.0
    _stalled: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    recipient_seen: threading.Event = field(default_factory=threading.Event)

    def stall(self, seconds: float = 0.0) -> None:
        """Hold every new recipient: for ``seconds`` (>0), or until :meth:`recover` (0)."""
        self.stall_seconds = seconds
        self._stalled.set()

    def recover(self) -> None:
        """Answer normally again (releases connections that are being held)."""
        self._stalled.clear()

    def note(self, event: str) -> None:
        """Append to the shared timeline (tests add their own events, e.g. ``response``)."""
        with self._lock:
            self.timeline.append(event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        self.recipient_seen.set()
        if self._stalled.is_set():
            self.note("smtp-stalled")
            started = time.monotonic()
            while self._stalled.is_set():
                if self.stall_seconds and time.monotonic() - started >= self.stall_seconds:
                    self._stalled.clear()
                    break
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.timeline.append("mail")
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on a free port; Django's email settings point at it."""
    handler = SmtpServer(port=free_port())
    # aiosmtpd's start() connects to its own port to check it is up, so it needs a real number.
    controller = Controller(handler, hostname=handler.host, port=handler.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = handler.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        handler.recover()
        controller.stop()


# --- The queue -------------------------------------------------------------------------------


def broker_for(name: str) -> Broker:
    """A Django-Q2 broker of the given kind on the cluster's queue."""
    return ORM(list_key=Conf.CLUSTER_NAME) if name == "orm" else Redis(list_key=Conf.CLUSTER_NAME)


@pytest.fixture
def broker_name(request: pytest.FixtureRequest) -> str:
    """The broker a test runs on: ``orm`` unless parametrised (``redis`` tests are marked)."""
    return getattr(request, "param", "orm")


@pytest.fixture
def queue(broker_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    """Make this process enqueue on ``broker_name`` (Django-Q2 picks the ORM broker when its
    ``orm`` option is set, else Redis), starting from an empty queue."""
    monkeypatch.setattr(Conf, "ORM", "default" if broker_name == "orm" else None)
    broker = broker_for(broker_name)
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@dataclass
class RanTask:
    """A task taken from the queue and run in this process."""

    func: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any


def queued_tasks(broker: Broker) -> list[dict[str, Any]]:
    """The task packages waiting on the broker, oldest first, without taking them."""
    if isinstance(broker, ORM):
        payloads = list(broker.get_connection().filter(key=broker.list_key).order_by("pk").values_list("payload", flat=True))
    else:
        payloads = broker.connection.lrange(broker.list_key, 0, -1)
    return [SignedPackage.loads(payload) for payload in payloads]


def run_queued_tasks(broker: Broker) -> list[RanTask]:
    """Run every waiting task here, as the worker would, until the queue is empty."""
    ran: list[RanTask] = []
    while broker.queue_size():
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            func = task["func"]
            target = import_string(func) if isinstance(func, str) else func
            result = target(*task["args"], **task["kwargs"])
            ran.append(RanTask(func=func, args=tuple(task["args"]), kwargs=task["kwargs"], result=result))
            broker.acknowledge(ack_id)
    return ran


# --- A real worker process -------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """A ``manage.py qcluster`` process group on the test database."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the cluster (in a new session, so it and its children can be killed together)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole cluster (sentinel, pusher, workers, monitor): a crash, no cleanup."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop the cluster gracefully, then make sure nothing of it is left."""
        if self.process and self.process.poll() is None:
            # SIGTERM to the cluster's main process only: it stops its children in order (a
            # SIGTERM to the whole group leaves them waiting on each other).
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def log(self) -> str:
        """What the worker printed (for failure messages)."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def worker_factory(
    transactional_db: None, tmp_path: Path, broker_name: str
) -> Iterator[Callable[..., WorkerProcess]]:
    """Make (not start) workers on the committed test database; all are stopped at the end."""
    made: list[WorkerProcess] = []
    database = connection.settings_dict

    def make(smtp: SmtpServer | None = None, **overrides: str) -> WorkerProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.tasks.worker_settings",
            ACADEMY_TEST_DATABASE_NAME=str(database["NAME"]),
            ACADEMY_TASK_BROKER=broker_name,
            ACADEMY_TASK_WORKERS="1",
            ACADEMY_TASK_POLL="0.1",
            ACADEMY_TASK_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        if smtp is not None:
            env.update(EMAIL_HOST=smtp.host, EMAIL_PORT=str(smtp.port))
            env.pop("EMAIL_URL", None)
        env.update(overrides)
        worker = WorkerProcess(env=env, log_path=tmp_path / f"worker-{len(made)}.log")
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()
