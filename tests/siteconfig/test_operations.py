"""Operations against real processes: ``manage.py run_academy`` (uvicorn workers and the task
worker) on the committed test database.

- /metrics of a web process adds up every process of the machine: two web processes, the task
  worker and a ``manage.py shell`` (requests, a WebSocket, an event, a queued and a run task).
- A request's id is in its JSON access line and in the log line of the task it queued.
- A failing task reaches Sentry (a local HTTP sink standing in for sentry.io, the SDK's real
  HTTP transport) with its name and without the secrets in its message.
- SIGTERM: the web server finishes a request in flight and closes its WebSocket with 1012; the
  worker finishes its running task, or (past the grace period) is killed and the task runs
  again later, once to completion; a Ctrl-C to the terminal's process group leaves no process.

Waits are bounded polls that fail the test on a hang; nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import websockets
from django_q.models import OrmQ, Success
from prometheus_client.parser import text_string_to_metric_families

from tests.realtime import conftest as realtime_fixtures
from tests.realtime.conftest import World
from tests.realtime.support import ROOT, child_env, free_port, manage_shell, wait_port

# A site, an enrolled learner (and their session cookie), from the realtime tests.
world = realtime_fixtures.world
TOKEN = "ops-test-token-1"
PATIENCE = 90.0
pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(predicate: Callable[[], Any], what: str, log: Path | None = None) -> Any:
    """Poll until ``predicate`` returns something truthy; fail (with the log) if it never does."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}" + (f":\n{log.read_text()[-4000:]}" if log else ""))


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Academy:
    """``manage.py run_academy`` in its own session (as a terminal or an orchestrator runs it)."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.log = tmp_path / f"run_academy-{self.port}.log"
        self.metrics_dir = tmp_path / f"metrics-{self.port}"
        self.args = args
        self.env = child_env(
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir), ACADEMY_METRICS_TOKEN=TOKEN, ACADEMY_TASK_BROKER="orm",
            ACADEMY_TASK_WORKERS="1", ACADEMY_TASK_POLL="0.1", EMAIL_URL="console://", **env,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait_for_port: bool = True) -> Academy:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run_academy", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        if wait_for_port:
            wait_port(self.port, self.process, self.log)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        request = urllib.request.Request(f"{self.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples
        }

    def terminate(self) -> int:
        """SIGTERM the supervisor; its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=PATIENCE)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines printed so far (other output skipped)."""
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@pytest.fixture
def academies(tmp_path: Path) -> Iterator[Callable[..., Academy]]:
    made: list[Academy] = []

    def make(*args: str, **env: str) -> Academy:
        academy = Academy(tmp_path, *args, **env)
        made.append(academy)
        return academy

    yield make
    for academy in made:
        academy.stop()


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def shell(academy: Academy, code: str) -> str:
    """``manage.py shell -c`` with the server's environment (its metrics folder too)."""
    env = {key: value for key, value in academy.env.items() if key.startswith(("ACADEMY_", "PROMETHEUS_"))}
    return manage_shell(code, **env)


# --- metrics across processes -----------------------------------------------------------------


def test_metrics_add_up_every_process_of_the_machine(world: World, academies: Callable[..., Academy], tmp_path: Path) -> None:
    academy = academies("--workers", "2").start()
    task_log = tmp_path / "task.log"
    requests_made = 12
    for _ in range(requests_made):
        with urllib.request.urlopen(f"{academy.url}/healthz", timeout=30):
            pass
        with urllib.request.urlopen(f"{academy.url}/readyz", timeout=30):
            pass
    seen_open: list[float] = []

    async def with_socket() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{academy.port}/ws/notifications/", origin=academy.url,
            additional_headers={"Cookie": f"sessionid={world.learner_session}"},
        ) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), PATIENCE)) == {"type": "pong"}
            seen_open.append(value(await asyncio.to_thread(academy.metrics), "academy_websocket_connections",
                                   stream="notifications"))

    asyncio.run(with_socket())
    shell(academy, (
        "from django.contrib.auth import get_user_model; from learning import services; "
        "from academy.tasks import enqueue; "
        f"user = get_user_model().objects.get(pk={world.learner.pk}); "
        "services.notification_create(user=user, kind='announcement', title='Hello'); "
        "services.notification_mark_read(user=user); "
        f"enqueue('tests.tasks.worker_funcs.healthy', log_path={str(task_log)!r}, number=7)"
    ))
    task = "tests.tasks.worker_funcs.healthy"

    def after_the_task() -> dict[Any, float] | None:
        samples = academy.metrics()
        return samples if value(samples, "academy_tasks_succeeded_total", task=task) else None

    samples = wait_until(after_the_task, "the worker's success in /metrics", academy.log)

    assert task_log.read_text() == "healthy 7\n"
    assert seen_open == [1.0]
    assert value(samples, "academy_websocket_connections", stream="notifications") == 0
    assert value(samples, "academy_websocket_frames_sent_total", stream="notifications") >= 1
    assert value(samples, "academy_http_requests_total", route="readyz", method="GET", status="200") == requests_made
    assert value(samples, "academy_http_request_duration_seconds_count", route="readyz", method="GET") == requests_made
    # The world's enrollments made events too (in the worker); marking read is the shell's alone.
    assert value(samples, "academy_events_total", event="notification_read") == 1
    assert value(samples, "academy_events_total", event="notification_created") >= 1
    assert value(samples, "academy_tasks_queued_total", task=task) == 1
    assert value(samples, "academy_tasks_succeeded_total", task=task) == 1
    assert value(samples, "academy_tasks_failed_total", task=task) == 0
    assert value(samples, "academy_task_queue_depth") == 0
    # Counters came from separate processes (files are named by pid): a web process, the task
    # worker and the shell at least (which of the two web processes took a request is the kernel's
    # choice).
    assert len(list(academy.metrics_dir.glob("counter_*.db"))) >= 3
    refused = urllib.request.Request(f"{academy.url}/metrics", headers={"Authorization": "Bearer nope"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=30)
    assert error.value.code == 401


# --- the request id, from the request's line to the task's ------------------------------------------


def test_request_id_is_in_the_json_access_line_and_in_the_task_it_queued(
    world: World, academies: Callable[..., Academy]
) -> None:
    academy = academies("--workers", "1", ACADEMY_LOG_FORMAT="json", ACADEMY_TRUST_REQUEST_ID="1").start()
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{academy.url}/accounts/password_reset/", timeout=30) as response:
        form = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    request_id = "req-ops-0123456789"
    post = urllib.request.Request(
        f"{academy.url}/accounts/password_reset/",
        data=urllib.parse.urlencode({"email": world.learner.email, "csrfmiddlewaretoken": csrf}).encode(),
        headers={"X-Request-ID": request_id, "Referer": f"{academy.url}/accounts/password_reset/"},
    )
    with opener.open(post, timeout=30) as response:
        assert response.headers["X-Request-ID"] == request_id

    def task_line() -> dict[str, Any] | None:
        return next((line for line in academy.log_lines() if line.get("logger") == "academy.tasks"
                     and line.get("request_id") == request_id and line.get("status") == "success"), None)

    finished = wait_until(task_line, "the task's log line with the request id", academy.log)
    # urllib followed the redirect with the same header: the done page's line has the id too.
    access = [line for line in academy.log_lines() if line.get("logger") == "academy.request"
              and line.get("request_id") == request_id and line.get("method") == "POST"]

    assert len(access) == 1
    assert {key: access[0][key] for key in ("level", "method", "path", "route", "status", "user_id")} == {
        "level": "INFO", "method": "POST", "path": "/accounts/password_reset/",
        "route": "accounts/password_reset/", "status": 302, "user_id": None,
    }
    assert isinstance(access[0]["duration_ms"], float)
    assert access[0]["timestamp"].endswith("+00:00")
    assert finished["task"] == "learning.tasks.send_password_reset_email"
    # An id a client sent is not trusted without a proxy in front: a fresh one is made.
    with urllib.request.urlopen(urllib.request.Request(
        f"{academy.url}/healthz", headers={"X-Request-ID": "x" * 300}), timeout=30):
        pass


# --- Sentry: a failing task, through the SDK's real HTTP transport ----------------------------------


class SentrySink(BaseHTTPRequestHandler):
    """Stands in for sentry.io: keeps every envelope posted to it."""

    envelopes: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).envelopes.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def sentry_events(raw: bytes) -> list[dict[str, Any]]:
    """The error events of an envelope (header line, then item header / payload pairs)."""
    lines = raw.split(b"\n")
    events = []
    for header, payload in zip(lines[1::2], lines[2::2], strict=False):
        if json.loads(header).get("type") == "event":
            events.append(json.loads(payload))
    return events


def test_failing_task_reaches_sentry_with_its_name_and_no_secret(
    world: World, academies: Callable[..., Academy]
) -> None:
    SentrySink.envelopes = []
    sink = ThreadingHTTPServer(("127.0.0.1", 0), SentrySink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        academy = academies(
            "--no-web", SENTRY_DSN=f"http://publickey@127.0.0.1:{sink.server_port}/1",
            SENTRY_ENVIRONMENT="ci", ACADEMY_TASK_MAX_ATTEMPTS="1",
        ).start(wait_for_port=False)
        wait_until(lambda: "running." in academy.log.read_text(), "the cluster to start", academy.log)
        shell(academy, (
            "from academy.tasks import enqueue; "
            "enqueue('tests.tasks.worker_funcs.fails_with_secrets', email='grace.hopper@example.com', "
            "password='Sup3r-Secret-Pw')"
        ))
        events = wait_until(
            lambda: [event for raw in SentrySink.envelopes for event in sentry_events(raw)],
            "the task's event at the sink", academy.log,
        )
        raw = b"".join(SentrySink.envelopes)
    finally:
        sink.shutdown()

    assert len(events) == 1
    event = events[0]
    assert event["tags"]["task"] == "tests.tasks.worker_funcs.fails_with_secrets"
    assert event["environment"] == "ci"
    assert event["release"].startswith("academy@")
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["exception"]["values"][-1]["value"] == "could not sign in [email]: password=[Filtered]"
    assert b"grace.hopper@example.com" not in raw
    assert b"Sup3r-Secret-Pw" not in raw


# --- shutdown ----------------------------------------------------------------------------------


def test_sigterm_web_finishes_the_request_in_flight_and_closes_sockets_with_1012(
    world: World, academies: Callable[..., Academy], tmp_path: Path
) -> None:
    release = tmp_path / "release"
    academy = academies(
        "--no-worker", "--workers", "1", DJANGO_SETTINGS_MODULE="tests.siteconfig.hold_settings",
        HOLD_FILE=str(release), ACADEMY_SHUTDOWN_GRACE="20",
    ).start()
    held: list[int] = []
    holder = threading.Thread(
        target=lambda: held.append(urllib.request.urlopen(f"{academy.url}/test/hold/", timeout=PATIENCE).status)
    )

    async def scenario() -> int:
        async with websockets.connect(
            f"ws://127.0.0.1:{academy.port}/ws/notifications/", origin=academy.url,
            additional_headers={"Cookie": f"sessionid={world.learner_session}"},
        ) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), PATIENCE)) == {"type": "pong"}
            holder.start()
            # The hold and the probe itself.
            await asyncio.to_thread(wait_until, lambda: _running(academy) >= 2, "the held request to run")
            assert academy.process is not None
            pid = academy.process.pid
            family = descendants(pid)
            academy.process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), PATIENCE)
            # The request in flight is still being served: let it finish now.
            release.touch()
            code = await asyncio.to_thread(academy.process.wait, PATIENCE)
            assert [p for p in family if alive(p)] == []
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012
            return code

    exit_code = asyncio.run(scenario())
    holder.join(PATIENCE)

    assert held == [200]
    assert exit_code == 0


def _running(academy: Academy) -> int:
    request = urllib.request.Request(f"{academy.url}/readyz", headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = json.loads(error.read())
    return int(body["checks"].get("capacity", {}).get("running", 0))


def queued_slow_tasks() -> int:
    """``slow`` tasks on the ORM queue (the world's own tasks may be there too)."""
    return sum(1 for row in OrmQ.objects.all() if row.func() == "tests.tasks.worker_funcs.slow")


def test_sigterm_worker_finishes_its_running_task(world: World, academies: Callable[..., Academy], tmp_path: Path) -> None:
    task_log = tmp_path / "slow.log"
    academy = academies("--no-web", ACADEMY_SHUTDOWN_GRACE="30").start(wait_for_port=False)
    wait_until(lambda: "running." in academy.log.read_text(), "the cluster to start", academy.log)
    shell(academy, f"from academy.tasks import enqueue; enqueue('tests.tasks.worker_funcs.slow', log_path={str(task_log)!r}, seconds=2)")
    wait_until(lambda: task_log.exists() and "start" in task_log.read_text(), "the task to start", academy.log)
    assert academy.process is not None
    family = descendants(academy.process.pid)

    exit_code = academy.terminate()

    assert exit_code == 0
    assert task_log.read_text() == "start\nend\n"
    assert [p for p in family if alive(p)] == []
    assert Success.objects.filter(func="tests.tasks.worker_funcs.slow").count() == 1
    assert queued_slow_tasks() == 0


def test_sigterm_worker_past_the_grace_kills_the_task_and_it_runs_again_once(
    world: World, academies: Callable[..., Academy], tmp_path: Path
) -> None:
    task_log = tmp_path / "slow.log"
    settings_env = {"ACADEMY_TASK_TIMEOUT": "15", "ACADEMY_TASK_RETRY": "16"}
    first = academies("--no-web", ACADEMY_SHUTDOWN_GRACE="1", **settings_env).start(wait_for_port=False)
    wait_until(lambda: "running." in first.log.read_text(), "the cluster to start", first.log)
    shell(first, f"from academy.tasks import enqueue; enqueue('tests.tasks.worker_funcs.slow', log_path={str(task_log)!r}, seconds=6)")
    wait_until(lambda: task_log.exists() and "start" in task_log.read_text(), "the task to start", first.log)
    assert first.process is not None
    family = descendants(first.process.pid)

    first.terminate()

    assert [p for p in family if alive(p)] == []
    assert task_log.read_text() == "start\n"
    assert queued_slow_tasks() == 1  # still on the queue: nothing lost
    second = academies("--no-web", ACADEMY_SHUTDOWN_GRACE="30", **settings_env).start(wait_for_port=False)
    # The monitor records the success, then acknowledges (removes) the queued row.
    wait_until(
        lambda: Success.objects.filter(func="tests.tasks.worker_funcs.slow").exists() and queued_slow_tasks() == 0,
        "the task to run again and leave the queue", second.log,
    )
    assert task_log.read_text() == "start\nstart\nend\n"
    assert Success.objects.filter(func="tests.tasks.worker_funcs.slow").count() == 1
    assert queued_slow_tasks() == 0


def test_ctrl_c_in_the_terminal_leaves_no_process_behind(world: World, academies: Callable[..., Academy]) -> None:
    academy = academies("--workers", "2").start()
    wait_until(lambda: "running." in academy.log.read_text(), "the cluster to start", academy.log)
    assert academy.process is not None
    family = descendants(academy.process.pid)
    # uvicorn's master and 2 workers, the cluster's main, sentinel, pusher, monitor and worker.
    assert len(family) >= 7

    # A terminal's Ctrl-C: SIGINT to every process of the foreground process group.
    os.killpg(academy.process.pid, signal.SIGINT)
    exit_code = academy.process.wait(timeout=PATIENCE)

    assert exit_code == 0
    assert [p for p in family if alive(p)] == []
