"""Benchmark: password-reset response time with the SMTP server stalled 5 s vs healthy (issue 4).

A real uvicorn server and a real ``qcluster`` worker (separate processes) talk to an aiosmtpd
server in this process. The load generator (this process) GETs the form for its CSRF token and
times the POST. Rounds alternate healthy / stalled so both modes see the same machine. While
stalled, the server holds every recipient 5 s, so the worker's sends pile up behind it; the
request must not notice. Target: p50(stalled) / p50(healthy) <= 1.2.

Run: ``python -m bench.tasks_reset [--requests N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench import ROOT, free_port, percentile, print_table
from bench.tasks import bench_environment, broker, prepare, running

STALL_SECONDS = 5.0
RATIO_TARGET = 1.2
SERVER_START_PATIENCE = 120.0
USER_EMAIL = "bench-reset@example.com"


class StallableSmtp:
    """aiosmtpd handler: accepts mail; while ``stalled``, holds each recipient for 5 s."""

    def __init__(self) -> None:
        self.stalled = False
        self.accepted = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.stalled:
            await asyncio.sleep(STALL_SECONDS)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted += 1
        return "250 Message accepted for delivery"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def timed_reset(base: str) -> float:
    """GET the form (CSRF cookie + token), then POST the reset; return the POST's seconds."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
    url = f"{base}/accounts/password_reset/"
    with opener.open(url, timeout=30) as page:
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if token is None:
        raise RuntimeError("no CSRF token in the password reset form")
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), "email": USER_EMAIL}).encode()
    request = urllib.request.Request(url, data=body, headers={"Referer": url})
    started = time.perf_counter()
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:  # the 302 to "done" surfaces here without redirects
        if error.code != 302:
            raise
    return time.perf_counter() - started


def wait_http(base: str, process: Any) -> None:
    """Wait until the server answers (bounded)."""
    deadline = time.monotonic() + SERVER_START_PATIENCE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the web server exited during start-up")
        try:
            urllib.request.urlopen(f"{base}/accounts/login/", timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("the web server did not start")


def main(argv: list[str] | None = None) -> int:
    """Run alternating healthy / stalled rounds and print the table with the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.tasks_reset", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode")
    options = parser.parse_args(argv)
    env = bench_environment()
    prepare(env)
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-reset", defaults={"email": USER_EMAIL})
    user.set_password("bench-reset-password-1")
    user.save()

    handler = StallableSmtp()
    smtp_port, web_port = free_port(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {**env, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port), "EMAIL_TIMEOUT": "30"}
    env.pop("EMAIL_URL", None)
    workdir = Path(env.get("ACADEMY_DATA_DIR") or ROOT / "var" / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{web_port}"
    times: dict[str, list[float]] = {"healthy": [], "stalled": []}
    from django.conf import settings

    queue = broker(settings.TASK_BROKER)
    try:
        with (
            running([sys.executable, "manage.py", "qcluster"], env, workdir / "reset-worker.log"),
            running([sys.executable, "-m", "uvicorn", "siteconfig.asgi:application", "--host", "127.0.0.1",
                     "--port", str(web_port), "--no-access-log", "--log-level", "warning"], env,
                    workdir / "reset-web.log") as web,
        ):
            wait_http(base, web)
            timed_reset(base)  # warm-up: imports, template cache, first connections
            for _ in range(options.rounds):
                for mode in ("healthy", "stalled"):
                    handler.stalled = mode == "stalled"
                    times[mode].extend(timed_reset(base) for _ in range(options.requests))
    finally:
        controller.stop()
        queue.purge_queue()
    healthy, stalled = percentile(times["healthy"], 50), percentile(times["stalled"], 50)
    ratio = stalled / healthy
    rows = [
        ["SMTP healthy", len(times["healthy"]), f"{healthy * 1000:.1f} ms", f"{percentile(times['healthy'], 99) * 1000:.1f} ms"],
        [f"SMTP stalled {STALL_SECONDS:.0f} s", len(times["stalled"]), f"{stalled * 1000:.1f} ms",
         f"{percentile(times['stalled'], 99) * 1000:.1f} ms"],
        [f"ratio stalled / healthy (p50), target <= {RATIO_TARGET}", "", f"{ratio:.2f}", "met" if ratio <= RATIO_TARGET else "NOT MET"],
        ["reset emails the worker delivered meanwhile (stalled ones still queued)", handler.accepted, "", ""],
    ]
    print_table(
        f"Password-reset POST response time (uvicorn + qcluster, {settings.TASK_BROKER} broker, loopback)",
        ["measure", "n", "p50", "p99"],
        rows,
    )
    return 0 if ratio <= RATIO_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
