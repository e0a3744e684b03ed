"""The load generator of ``bench.load`` (run in its own process; not a benchmark by itself).

Simulated users on asyncio + aiohttp (on uvloop when installed), each waiting 1-3 s (think
time) between requests: anonymous visitors browse catalog -> course -> lesson; logged-in
learners read the dashboard, open a lesson of theirs, complete it, and hold ``/ws/progress/``
open the whole time. Reads a JSON plan on stdin, writes a JSON result on stdout: per endpoint
the latencies and errors (503s, the admission gate's refusals, apart), the cache header counts,
the WebSocket frames and the sessions that failed or dropped, and the generator's own load (CPU
seconds it used, how late its event loop woke up) so that ``bench.load`` can tell a slow server
from a saturated client. ``bench.load`` runs several of these at once for large rounds.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from typing import Any

import aiohttp

REQUEST_TIMEOUT_SECONDS = 30.0
THINK_SECONDS = (1.0, 3.0)
# Users start spread over this long, as visitors do, instead of in one instant.
RAMP_SECONDS = 5.0
# The event loop's own health: how late a sleep of this length wakes up, sampled all along.
LAG_PROBE_SECONDS = 0.1


class Recorder:
    """Latencies (ms) and errors per endpoint; cache header values of anonymous pages."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)
        self.error_samples: dict[str, str] = {}
        self.loop_lag_ms: list[float] = []
        self.cache: dict[str, int] = defaultdict(int)
        self.ws_failed = 0
        self.ws_frames = 0

    def error(self, endpoint: str, what: str, *, refused: bool = False) -> None:
        """Count a failed request (``refused``: an HTTP 503) and keep the first of each endpoint."""
        self.errors[endpoint] += 1
        if refused:
            self.refused[endpoint] += 1
        self.error_samples.setdefault(endpoint, what)


async def timed(
    session: aiohttp.ClientSession, recorder: Recorder, endpoint: str, method: str, url: str, *,
    cache_header: str = "", **kwargs: Any,
) -> str:
    """One request; records its latency or its error; the body ("" on error)."""
    started = time.perf_counter()
    try:
        async with session.request(method, url, allow_redirects=False, **kwargs) as response:
            body = await response.text()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status >= 400:
                recorder.error(endpoint, f"HTTP {response.status}", refused=response.status == 503)
                return ""
            recorder.latencies[endpoint].append(elapsed)
            if cache_header:
                recorder.cache[response.headers.get(cache_header, "none").lower()] += 1
            return body
    except (aiohttp.ClientError, TimeoutError) as exc:
        recorder.error(endpoint, f"{type(exc).__name__}: {exc}")
        return ""


async def think(deadline: float) -> bool:
    """Wait 1-3 s; False when the run is over."""
    await asyncio.sleep(random.uniform(*THINK_SECONDS))
    return time.monotonic() < deadline


async def visitor(plan: dict[str, Any], recorder: Recorder, deadline: float) -> None:
    """An anonymous visitor: catalog (sometimes page 2 or a topic), a course, one of its lessons."""
    base = plan["base"]
    courses = plan["courses"]
    await asyncio.sleep(random.uniform(0, RAMP_SECONDS))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)) as session:
        while time.monotonic() < deadline:
            catalog = random.choice(["/courses/", "/courses/", "/courses/", "/courses/?page=2"])
            await timed(session, recorder, "GET catalog", "GET", base + catalog, cache_header=plan["cache_header"])
            if not await think(deadline):
                return
            course = random.choice(courses)
            await timed(session, recorder, "GET course", "GET", base + course["url"], cache_header=plan["cache_header"])
            if not await think(deadline):
                return
            if course["lesson_urls"]:
                lesson = random.choice(course["lesson_urls"])
                await timed(session, recorder, "GET lesson", "GET", base + lesson, cache_header=plan["cache_header"])
            if not await think(deadline):
                return


async def hold_socket(plan: dict[str, Any], learner: dict[str, Any], recorder: Recorder, deadline: float) -> None:
    """Keep /ws/progress/ open until the end, reconnecting (counted as a failure) if it drops."""
    url = plan["base"].replace("http://", "ws://") + "/ws/progress/"
    headers = {"Cookie": learner["cookie"], "Origin": plan["base"]}
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.ws_connect(url, headers=headers, heartbeat=None) as ws:
                    await ws.send_str('{"type": "resume", "since": null}')
                    while time.monotonic() < deadline:
                        try:
                            message = await asyncio.wait_for(ws.receive(), timeout=max(0.1, deadline - time.monotonic()))
                        except TimeoutError:
                            return
                        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
                        recorder.ws_frames += 1
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() < deadline:
                recorder.ws_failed += 1
                await asyncio.sleep(1)


async def learner_loop(plan: dict[str, Any], learner: dict[str, Any], recorder: Recorder, deadline: float) -> None:
    """A logged-in learner: dashboard, a lesson of theirs, complete it; repeat."""
    base = plan["base"]
    headers = {"Cookie": learner["cookie"]}
    await asyncio.sleep(random.uniform(0, RAMP_SECONDS))
    socket = asyncio.create_task(hold_socket(plan, learner, recorder, deadline))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)) as session:
        while time.monotonic() < deadline:
            await timed(session, recorder, "GET dashboard (learner)", "GET", base + "/dashboard/", headers=headers)
            if not await think(deadline):
                break
            lesson_id, lesson_url = random.choice(learner["lessons"])
            await timed(session, recorder, "GET lesson (learner)", "GET", base + lesson_url, headers=headers)
            if not await think(deadline):
                break
            await timed(
                session, recorder, "POST complete lesson", "POST", base + "/learning/progress/",
                headers={**headers, "X-CSRFToken": learner["csrf"], "Referer": base + lesson_url},
                data={"lesson_id": str(lesson_id), "next": "/dashboard/"},
            )
            if not await think(deadline):
                break
    await socket


async def probe_loop_lag(recorder: Recorder, deadline: float) -> None:
    """Sample how late the event loop wakes up: a busy generator measures its own delays."""
    while time.monotonic() < deadline:
        asked = time.perf_counter()
        await asyncio.sleep(LAG_PROBE_SECONDS)
        recorder.loop_lag_ms.append(max(0.0, (time.perf_counter() - asked - LAG_PROBE_SECONDS) * 1000))


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Run every user until the deadline; the recorder's figures."""
    recorder = Recorder()
    cpu_before = time.process_time()
    started = time.monotonic()
    deadline = started + plan["seconds"]
    users = [visitor(plan, recorder, deadline) for _ in range(plan["visitors"])]
    users += [learner_loop(plan, learner, recorder, deadline) for learner in plan["learners"]]
    await asyncio.gather(probe_loop_lag(recorder, deadline), *users)
    return {
        "elapsed": time.monotonic() - started,
        "latencies": recorder.latencies,
        "errors": recorder.errors,
        "refused": recorder.refused,
        "error_samples": recorder.error_samples,
        "cache": recorder.cache,
        "ws_failed": recorder.ws_failed,
        "ws_frames": recorder.ws_frames,
        "cpu_seconds": time.process_time() - cpu_before,
        "loop_lag_ms": recorder.loop_lag_ms,
    }


def main() -> None:
    """Read the plan, run it (on uvloop when installed: less of the client's CPU per request)."""
    plan = json.load(sys.stdin)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(plan))
    else:
        result = uvloop.run(run(plan))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
