"""``manage.py run_academy``: the ASGI server (HTTP + WebSocket) and the task worker, together.

This is what ``make run`` starts. Each runs in its own process, as in production; when one of
them exits, or on Ctrl-C, both are stopped.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

# How long a child gets to exit cleanly after SIGTERM before it is killed.
SHUTDOWN_GRACE_SECONDS = 10
POLL_INTERVAL_SECONDS = 0.5


class Command(BaseCommand):
    """Run uvicorn and Django-Q2's cluster side by side and supervise them."""

    help = "Serve HTTP and WebSocket with uvicorn and run the Django-Q2 task worker."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare --host, --port and --no-worker."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Serve only; run no task worker.")

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
        """Start the children, wait until one exits or a signal arrives, then stop all."""
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
                    "--host", host, "--port", str(port), "--no-access-log",
                    "--ws-max-size", "65536",
                    # The client address is the socket's peer unless ACADEMY_NUM_PROXIES says
                    # otherwise (siteconfig.ratelimit.client_address); uvicorn's own rewriting
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
