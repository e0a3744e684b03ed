"""Baseline server for the fan-out benchmark: plain ``websockets`` with ``websockets.broadcast``.

Clients connect to ``/``; a control client on ``/control`` sends ``go <n>`` and the server
broadcasts one frame (shaped like a ``course.updated`` event) to every client. Run as
``python -m bench.realtime_raw --port P``; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection, serve

CLIENTS: set[ServerConnection] = set()


def frame(n: int) -> str:
    """The frame broadcast for round ``n`` (same shape and size as the Channels event)."""
    data: dict[str, Any] = {
        "course_id": 3, "page_id": 4, "page_type": "lesson", "title": "Lesson 1 (revised)",
        "url": "/courses/bench/lesson-1/",
    }
    return json.dumps({"type": "course.updated", "id": n, "data": data}, separators=(",", ":"))


async def handler(connection: ServerConnection) -> None:
    """Clients wait for broadcasts; the control client triggers them."""
    if connection.request is not None and connection.request.path == "/control":
        async for message in connection:
            _, n = str(message).split()
            websockets.broadcast(CLIENTS, frame(int(n)))
        return
    CLIENTS.add(connection)
    try:
        await connection.wait_closed()
    finally:
        CLIENTS.discard(connection)


async def main(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
