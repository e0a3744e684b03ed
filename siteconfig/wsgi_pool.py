"""Django's WSGI handler on a pool of threads inside the ASGI server: one hand-over per request.

a2wsgi, which served this before, hands every step of a response from the worker thread to the
event loop and waits for it (the status line, each body chunk, the closing empty chunk, then the
thread's completion): four or more trips through the loop for one page, each waiting for the
GIL while other threads render pages. py-spy on a loaded web process showed the loop and the
threads trading the GIL on those trips, and heavy pages cost 1.7x what they cost under a WSGI
server in the same run.

Here a request is one trip:

- the loop reads a small request body itself (``Content-Length`` up to ``PREFETCH_BYTES``; a
  larger or chunked upload is read by the thread as Django asks for it, as before);
- a pool thread runs Django; a normal response's body is complete when Django returns it, so
  the thread hands status, headers and body to the loop at once, *without waiting* for it to be
  written, then closes the response on the same thread (Django's ``request_finished``: pooled
  database connections go back, and the work ``academy.middleware.run_after_response`` queued
  runs after the learner has the page);
- a streaming response (a file download, an export) is sent chunk by chunk as it is produced.

The thread that served a request also closes it: Django's connections belong to their thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import itertools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import Body, build_environ
from django.http import HttpResponse

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Request bodies up to this size are read by the loop before the thread starts (forms, JSON).
PREFETCH_BYTES = 1024 * 1024


class PooledWSGI:
    """An ASGI app that serves HTTP with the WSGI app ``app`` on ``threads`` pool threads."""

    def __init__(self, app: WSGIApp, *, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="web")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (lifespan: acknowledged; WebSocket: refused)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        loop = asyncio.get_running_loop()
        body = await _request_body(scope, receive, loop)
        environ = build_environ(scope, body)  # type: ignore[arg-type]
        context = contextvars.copy_context()
        sent: Future[None] | None = await loop.run_in_executor(
            self.executor, context.run, self._serve, environ, loop, send
        )
        if sent is not None:
            await asyncio.wrap_future(sent)

    def _serve(self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send: Send) -> Future[None] | None:
        """Run Django on this pool thread; the future of the response being written by the loop
        (None when it was streamed from here)."""
        started: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
            return written.append

        iterable = self.app(environ, start_response)
        try:
            if isinstance(iterable, HttpResponse):  # complete: hand it over in one piece
                payload = b"".join([*written, *iterable])
                return asyncio.run_coroutine_threadsafe(
                    _send_whole(send, started["status"], started["headers"], payload), loop
                )
            self._stream(iterable, started, written, loop, send)
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    logger.exception("closing the response failed")

    @staticmethod
    def _stream(
        iterable: Iterable[bytes], started: dict[str, Any], written: list[bytes],
        loop: asyncio.AbstractEventLoop, send: Send,
    ) -> None:
        def deliver(message: Message) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        deliver({"type": "http.response.start", "status": started["status"], "headers": started["headers"]})
        for chunk in itertools.chain(written, iterable):  # produced and sent one at a time
            if chunk:
                deliver({"type": "http.response.body", "body": chunk, "more_body": True})
        deliver({"type": "http.response.body", "body": b"", "more_body": False})


async def _send_whole(send: Send, status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _request_body(scope: Scope, receive: Receive, loop: asyncio.AbstractEventLoop) -> Any:
    """The request body: read now when small and announced, else a reader the thread pulls from."""
    length = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            length = None
            break
    if scope.get("method") in ("GET", "HEAD") and length is None:
        return io.BytesIO()
    if length is None or length > PREFETCH_BYTES:
        return Body(loop, receive)  # type: ignore[arg-type]
    parts: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    return io.BytesIO(b"".join(parts))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
