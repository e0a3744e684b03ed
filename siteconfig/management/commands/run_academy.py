"""``manage.py run_academy``: the ASGI server (HTTP + WebSocket) and the task worker, together.

This is what ``make run`` starts, and what compose's web service runs (``--no-worker``). The web
server is uvicorn with one worker process per core (``ACADEMY_WEB_WORKERS`` or ``--workers``
overrides), each serving HTTP on a thread pool and WebSockets on its event loop (see
``siteconfig.capacity``). The task worker is another process; when one of them exits, or on
Ctrl-C, all are stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

# How long a child gets to exit cleanly after SIGTERM before it is killed.
SHUTDOWN_GRACE_SECONDS = 10
POLL_INTERVAL_SECONDS = 0.5
# Largest WebSocket frame the server accepts (the consumers refuse far smaller client frames).
WS_MAX_FRAME_BYTES = 65536


def web_worker_count(requested: int | None = None) -> int:
    """Web processes to run: ``requested``, else ``ACADEMY_WEB_WORKERS``, else one per usable core."""
    count = requested or settings.ACADEMY_WEB_WORKERS
    if count:
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Command(BaseCommand):
    """Run uvicorn and Django-Q2's cluster side by side and supervise them."""

    help = "Serve HTTP and WebSocket with uvicorn and run the Django-Q2 task worker."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --host, --port and --no-worker."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Serve only; run no task worker.")
        parser.add_argument(
            "--workers", type=int, default=None,
            help="Web server processes (default: ACADEMY_WEB_WORKERS, else one per core).",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_worker: bool, workers: int | None, **options: Any
    ) -> None:
        """Start the children, wait until one exits or a signal arrives, then stop all."""
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1")
        web_workers = web_worker_count(workers)
        self.stdout.write(
            f"web: {web_workers} process(es) x {settings.ACADEMY_WEB_THREADS} threads on {host}:{port}"
        )
        children: list[subprocess.Popen[bytes]] = []
        if not no_worker:
            # In its own session: Ctrl-C in the terminal reaches only this supervisor, which
            # then sends SIGTERM to the cluster's main process. A signal sent to every process
            # of the cluster at once leaves its children waiting on each other.
            children.append(subprocess.Popen([sys.executable, "manage.py", "qcluster"], start_new_session=True))
        children.append(
            subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "siteconfig.asgi:application",
                    "--host", host, "--port", str(port), "--workers", str(web_workers),
                    "--no-access-log", "--ws-max-size", str(WS_MAX_FRAME_BYTES),
                    # The client address is the socket's peer unless ACADEMY_NUM_PROXIES says
                    # otherwise (academy.ratelimit.client_address); uvicorn's own rewriting
                    # would let any local client pick its address with X-Forwarded-For.
                    "--no-proxy-headers",
                ]
            )
        )
        stopping = False

        def request_stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(POLL_INTERVAL_SECONDS)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [child.args for child in children if child.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            self.stderr.write(f"stopped because a process exited: {failed}")
            sys.exit(1)
