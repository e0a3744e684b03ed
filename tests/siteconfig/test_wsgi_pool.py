"""The thread pool that runs Django's WSGI handler inside the ASGI server (siteconfig.wsgi_pool).

Real ASGI calls into ``PooledWSGI`` around small WSGI apps: what the client receives, on which
thread the response is closed, and how request bodies reach the app.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

from siteconfig.wsgi_pool import PREFETCH_BYTES, PooledWSGI


def scope(method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http", "method": method, "path": "/x/", "query_string": b"", "http_version": "1.1",
        "headers": headers or [], "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
    }


async def call(app: PooledWSGI, request_scope: dict[str, Any], chunks: list[bytes] | None = None) -> list[dict[str, Any]]:
    """Call ``app`` once; every message it sent. ``chunks`` is the request body as it arrives."""
    pending = list(chunks or [b""])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(request_scope, receive, send)
    return sent


def test_a_page_is_sent_whole_then_closed_on_the_thread_that_rendered_it() -> None:
    seen: dict[str, Any] = {}

    class Page(HttpResponse):
        def close(self) -> None:
            seen["closed_on"] = threading.get_ident()
            super().close()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen["ran_on"] = threading.get_ident()
        response = Page(b"<p>hello</p>", status=201)
        start_response("201 Created", [("Content-Type", "text/html"), ("X-Thing", "1")])
        return response

    sent = asyncio.run(call(PooledWSGI(app, threads=2), scope()))
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 201
    assert (b"x-thing", b"1") in sent[0]["headers"]
    assert sent[1] == {"type": "http.response.body", "body": b"<p>hello</p>", "more_body": False}
    assert seen["closed_on"] == seen["ran_on"] != threading.get_ident()


def test_a_streaming_response_goes_out_chunk_by_chunk_as_it_is_produced() -> None:
    produced: list[str] = []
    sent_when: list[list[str]] = []

    def rows() -> Iterator[bytes]:
        for n in range(3):
            produced.append(f"row {n}")
            yield f"row {n}\n".encode()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        response = StreamingHttpResponse(rows(), content_type="text/csv")
        start_response("200 OK", [("Content-Type", "text/csv")])
        return response

    async def scenario() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            sent_when.append(list(produced))

        await PooledWSGI(app, threads=1)(scope(), receive, send)
        return sent

    sent = asyncio.run(scenario())
    bodies = [message["body"] for message in sent if message["type"] == "http.response.body"]
    assert bodies == [b"row 0\n", b"row 1\n", b"row 2\n", b""]
    # Row 0 was on its way before row 1 was produced: nothing waited for the whole file.
    assert sent_when[1] == ["row 0"]


def test_a_small_form_body_is_read_before_the_thread_starts() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [])
        return HttpResponse(data[::-1])

    body = [b"lesson_id=", b"42&next=/"]
    length = str(sum(len(part) for part in body)).encode()
    sent = asyncio.run(call(PooledWSGI(app, threads=1), scope("POST", [(b"content-length", length)]), body))
    assert sent[-1]["body"] == b"lesson_id=42&next=/"[::-1]


def test_a_large_upload_is_read_as_the_app_asks_for_it() -> None:
    part = b"x" * (PREFETCH_BYTES // 2 + 1)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        data = environ["wsgi.input"].read(-1)
        start_response("200 OK", [])
        return HttpResponse(str(len(data)).encode())

    headers = [(b"content-length", str(3 * len(part)).encode())]
    sent = asyncio.run(call(PooledWSGI(app, threads=1), scope("POST", headers), [part, part, part]))
    assert sent[-1]["body"] == str(3 * len(part)).encode()


def test_an_app_that_raises_fails_the_request_not_the_pool() -> None:
    calls = 0

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        start_response("200 OK", [])
        return HttpResponse(b"fine")

    pool = PooledWSGI(app, threads=1)

    async def scenario() -> tuple[BaseException | None, list[dict[str, Any]]]:
        try:
            await call(pool, scope())
        except RuntimeError as exc:
            failure: BaseException | None = exc
        else:
            failure = None
        return failure, await call(pool, scope())

    failure, sent = asyncio.run(scenario())
    assert isinstance(failure, RuntimeError)
    assert sent[-1]["body"] == b"fine"
