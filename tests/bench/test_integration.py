"""The receiver of ``bench.integration``: it checks signatures as docs/first-party-plugins.md
tells a receiver to, which must agree with how the webhooks plugin signs, and counts each event
id once."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from bench import integration
from plugins.webhooks import signing


def signed(secret: str, event_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers the webhooks plugin sends with ``body``."""
    at = int(time.time()) if timestamp is None else timestamp
    return {"Webhook-Id": event_id, "Webhook-Timestamp": str(at),
            "Webhook-Signature": signing.sign(secret, event_id=event_id, timestamp=at, body=body)}


def post(port: int, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/hooks", data=body, method="POST",
                                     headers={**headers, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_the_docs_check_agrees_with_the_plugins_signature() -> None:
    secret, body = signing.new_secret(), b'{"id": "e1", "type": "lesson_completed"}'
    now = time.time()
    assert integration.signature_valid(secret, signed(secret, "e1", body), body, now) is True
    assert integration.signature_valid(secret, signed(secret, "e1", body), body + b" ", now) is False
    assert integration.signature_valid(signing.new_secret(), signed(secret, "e1", body), body, now) is False
    old = signed(secret, "e1", body, timestamp=int(now) - 301)
    assert integration.signature_valid(secret, old, body, now) is False
    assert integration.signature_valid(secret, {"Webhook-Id": "e1"}, body, now) is False


def test_the_receiver_counts_each_valid_event_once() -> None:
    received = integration.Received(secret=signing.new_secret())
    server = integration.receiver(received)
    port = server.server_address[1]
    try:
        def event(event_id: str, kind: str) -> tuple[dict[str, str], bytes]:
            body = json.dumps({"id": event_id, "type": kind, "data": {}}).encode()
            return signed(received.secret, event_id, body), body

        statuses: list[Any] = [post(port, *event("a", "lesson_completed")), post(port, *event("b", "course_completed")),
                               post(port, *event("a", "lesson_completed"))]
        headers, body = event("c", "lesson_completed")
        statuses.append(post(port, headers, body.replace(b"lesson", b"course")))  # tampered
    finally:
        server.shutdown()
    assert statuses == [204, 204, 204, 204]
    assert (received.requests, received.unique, received.repeats, received.invalid) == (4, 2, 1, 1)
    assert received.by_type == {"lesson_completed": 1, "course_completed": 1}
