"""Signatures of webhook requests, as the Standard Webhooks specification has them.

A request carries ``Webhook-Id`` (the event id, the same on every retry and replay),
``Webhook-Timestamp`` (Unix seconds of this attempt) and ``Webhook-Signature``: ``v1,`` and the
base64 of HMAC-SHA256, keyed with the subscription's secret, over ``{id}.{timestamp}.{body}``.
Secrets look like ``whsec_`` + base64 of 32 random bytes; the key is those decoded bytes.
:func:`verify` is what a receiver runs (docs/plugins.md has the same in a few lines).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
# A receiver refuses a timestamp further than this from its own clock (replayed captures).
TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A request whose signature or timestamp does not verify."""


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` + base64 of 32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise SignatureError("A webhook secret starts with whsec_.")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError as exc:
        raise SignatureError("A webhook secret is whsec_ and base64.") from exc


def sign(secret: str, *, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``Webhook-Signature`` header of a request: ``v1,<base64 HMAC-SHA256>``."""
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(secret: str, *, event_id: str, timestamp: str, signature: str, body: bytes, now: int) -> None:
    """Raise :class:`SignatureError` unless one of the space-separated signatures in
    ``signature`` is ours for this body and the timestamp is within ``TOLERANCE_SECONDS`` of
    ``now`` (Unix seconds)."""
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("Webhook-Timestamp is not a number.") from exc
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        raise SignatureError("Webhook-Timestamp is too far from now.")
    expected = sign(secret, event_id=event_id, timestamp=sent_at, body=body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signature.split()):
        raise SignatureError("No signature matches.")
