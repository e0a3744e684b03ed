"""``manage.py run_academy``: the ASGI server (HTTP + WebSocket) and the task worker, supervised.

This is what ``make run`` starts, and what compose's services run (``--no-worker`` for web,
``--no-web`` for the worker). The web server is uvicorn with one worker process per core
(``ACADEMY_WEB_WORKERS`` or ``--workers`` overrides), each serving HTTP on a thread pool and
WebSockets on its event loop (see ``siteconfig.capacity``). The task worker is Django-Q2's
``qcluster``.

Metrics: every child writes its samples into one ``PROMETHEUS_MULTIPROC_DIR`` (a fresh folder
per run unless the variable is set), so ``/metrics`` of any web process shows the whole machine;
``ACADEMY_METRICS_LISTEN=host:port`` serves them from this supervisor on a private address too.

Shutdown (SIGTERM from an orchestrator, Ctrl-C in a terminal): each child runs in its own
session, so a signal sent to the terminal's process group reaches only this supervisor, which
then stops the children in order. uvicorn stops accepting, finishes the requests in flight and
closes WebSockets with 1012 ("service restart", the browser client reconnects elsewhere); the
cluster finishes its running tasks. Whatever is still running after ``ACADEMY_SHUTDOWN_GRACE``
seconds is killed, its whole process group with it, so nothing is left behind; a task killed
that way stays on the ORM broker and runs again after ``ACADEMY_TASK_RETRY``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from academy.metrics import MULTIPROC_ENV, metrics_wsgi_app

POLL_INTERVAL_SECONDS = 0.5
# How often the metrics folder is swept for the live gauges of processes that died.
SWEEP_INTERVAL_SECONDS = 10.0
# Largest WebSocket frame the server accepts (the consumers refuse far smaller client frames).
WS_MAX_FRAME_BYTES = 65536
# uvicorn's own drain deadline stays this far inside the grace, so it exits before a SIGKILL.
UVICORN_GRACE_MARGIN_SECONDS = 2
LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def web_worker_count(requested: int | None = None) -> int:
    """Web processes to run: ``requested``, else ``ACADEMY_WEB_WORKERS``, else one per usable core."""
    count = requested or settings.ACADEMY_WEB_WORKERS
    if count:
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def prepare_metrics_dir() -> tuple[Path, bool]:
    """The multi-process metrics folder for the children, emptied; and whether we made it."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    return Path(tempfile.mkdtemp(prefix="academy-metrics-")), True


def sweep_dead_processes(path: Path) -> None:
    """Drop the live gauges (open sockets, pool use) of processes that are gone."""
    from prometheus_client import multiprocess

    for file in path.glob("gauge_live*.db"):
        match = LIVE_GAUGE_FILE.match(file.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, str(path))
        except PermissionError:
            continue


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a log line."""


def serve_metrics(listen: str, healthy: Any) -> WSGIServer:
    """Serve ``/metrics`` and ``/healthz`` on ``host:port`` in a daemon thread."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise CommandError(f"ACADEMY_METRICS_LISTEN must be host:port, not {listen!r}")
    server = make_server(host.strip("[]"), int(port), metrics_wsgi_app(healthy), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


class Command(BaseCommand):
    """Run uvicorn and Django-Q2's cluster side by side and supervise them."""

    help = "Serve HTTP and WebSocket with uvicorn and run the Django-Q2 task worker."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --host, --port, --workers, --no-worker and --no-web."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Serve only; run no task worker.")
        parser.add_argument("--no-web", action="store_true", help="Run only the task worker.")
        parser.add_argument(
            "--workers", type=int, default=None,
            help="Web server processes (default: ACADEMY_WEB_WORKERS, else one per core).",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_worker: bool, no_web: bool, workers: int | None, **options: Any
    ) -> None:
        """Start the children, wait until one exits or a signal arrives, then stop all."""
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        if no_worker and no_web:
            raise CommandError("--no-worker and --no-web leave nothing to run")
        grace = settings.ACADEMY_SHUTDOWN_GRACE
        metrics_dir, made_metrics_dir = prepare_metrics_dir()
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
        env = {**os.environ, MULTIPROC_ENV: str(metrics_dir)}

        children: list[subprocess.Popen[bytes]] = []
        if not no_web:
            web_workers = web_worker_count(workers)
            self.stdout.write(
                f"web: {web_workers} process(es) x {settings.ACADEMY_WEB_THREADS} threads"
                f" (+{settings.ACADEMY_WEB_ANON_THREADS} anonymous lane) on {host}:{port}"
            )
            children.append(subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "siteconfig.asgi:application",
                    "--host", host, "--port", str(port), "--workers", str(web_workers),
                    "--no-access-log", "--ws-max-size", str(WS_MAX_FRAME_BYTES),
                    # The client address is the socket's peer unless ACADEMY_NUM_PROXIES says
                    # otherwise (academy.ratelimit.client_address); uvicorn's own rewriting
                    # would let any local client pick its address with X-Forwarded-For.
                    "--no-proxy-headers",
                    "--timeout-graceful-shutdown", str(max(1, grace - UVICORN_GRACE_MARGIN_SECONDS)),
                ],
                env=env, start_new_session=True,
            ))
        if not no_worker:
            # SIGTERM to the cluster's main process only: it stops its children in order (a
            # signal sent to every process of the cluster at once leaves them waiting on each
            # other), hence its own session.
            children.append(subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], env=env, start_new_session=True,
            ))

        metrics_server = None
        if settings.ACADEMY_METRICS_LISTEN:
            metrics_server = serve_metrics(
                settings.ACADEMY_METRICS_LISTEN, lambda: all(child.poll() is None for child in children)
            )
            self.stdout.write(f"metrics: http://{settings.ACADEMY_METRICS_LISTEN}/metrics")

        stopping = False

        def request_stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            swept_at = time.monotonic()
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(POLL_INTERVAL_SECONDS)
                if time.monotonic() - swept_at > SWEEP_INTERVAL_SECONDS:
                    sweep_dead_processes(metrics_dir)
                    swept_at = time.monotonic()
        finally:
            stop_children(children, grace)
            if metrics_server is not None:
                metrics_server.shutdown()
            if made_metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
        failed = [child.args for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            self.stderr.write(f"stopped because a process exited: {failed}")
            sys.exit(1)


def stop_children(children: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM every child, wait up to ``grace`` seconds, then SIGKILL what is left of each
    child's process group (a cluster's workers included)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        # The child led its own session: its pid is the group id of everything it started.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
