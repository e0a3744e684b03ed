"""``Idempotency-Key`` on API writes: a retried POST gets the first answer instead of acting twice.

An integration that times out does not know whether its POST went through. Sent again with the
same ``Idempotency-Key`` header (any string of 1 to 255 visible characters, unique per write),
the write is not done again: the stored answer of the first one is replayed, status and body,
with ``Idempotent-Replayed: true``. Keys are per user and kept ``KEEP`` (24 hours).

- The same key with a different method, path or body is 422 ``idempotency_key_reused``.
- While the first request is still running, a second one is 409 ``idempotency_key_in_use``;
  one whose first request died mid-way (no answer after ``ABANDONED_AFTER``) runs again.
- Only answers below 500 are kept: after a server error the key can be retried for real.

The row is written before the write runs, outside its transaction (autocommit), so two copies of
the same request sent at once meet at the unique constraint and only one runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from academy.models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
#: How long a key is remembered.
KEEP = timedelta(hours=24)
#: A first request with no answer after this long died (a killed process); the key runs again.
ABANDONED_AFTER = timedelta(minutes=5)
#: Answers from this status up are not kept (the write may not have happened; retry for real).
FIRST_UNKEPT_STATUS = 500


class IdempotencyError(Exception):
    """The key cannot be used for this request; ``status`` and ``code`` for the API's answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


@dataclass(frozen=True)
class Stored:
    """The answer of the first request with the key."""

    status_code: int
    content_type: str
    body: bytes


def valid_key(key: str) -> bool:
    """1 to 255 visible ASCII characters."""
    return 0 < len(key) <= KEY_MAX_LENGTH and all(33 <= ord(char) <= 126 for char in key)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path (with its query) and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def begin(*, user_id: int, key: str, print_: str) -> tuple[int, Stored | None]:
    """Claim ``key`` for a request with fingerprint ``print_``: ``(row id, None)`` when the
    request should run (then :func:`finish` or :func:`abandon`), ``(row id, Stored)`` when the
    stored answer is to be replayed. Raises ``IdempotencyError`` for a bad, reused or busy key."""
    if not valid_key(key):
        raise IdempotencyError(400, "invalid", f"{HEADER} must be 1 to {KEY_MAX_LENGTH} visible characters.")
    now = timezone.now()
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(user_id=user_id, key=key, fingerprint=print_)
        return row.pk, None
    except IntegrityError:
        pass
    with transaction.atomic():
        row = IdempotentRequest.objects.select_for_update().filter(user_id=user_id, key=key).first()
        if row is None:  # pruned in between: claim it again
            row = IdempotentRequest.objects.create(user_id=user_id, key=key, fingerprint=print_)
            return row.pk, None
        if row.created_at < now - KEEP:  # expired, not pruned yet: a new request
            row.fingerprint, row.status_code, row.content_type, row.body, row.created_at = print_, None, "", b"", now
            row.save()
            return row.pk, None
        if row.fingerprint != print_:
            raise IdempotencyError(
                422, "idempotency_key_reused", f"This {HEADER} was used for another request; use a new key."
            )
        if row.status_code is None:
            if row.created_at >= now - ABANDONED_AFTER:
                raise IdempotencyError(
                    409, "idempotency_key_in_use", f"A request with this {HEADER} is still running; retry shortly."
                )
            row.created_at = now  # its first request died: this one runs
            row.save(update_fields=["created_at"])
            return row.pk, None
        return row.pk, Stored(row.status_code, row.content_type, bytes(row.body))


def finish(row_id: int, *, status_code: int, content_type: str, body: bytes) -> None:
    """Keep the answer of the request that claimed ``row_id`` (below 500), else free the key."""
    if status_code >= FIRST_UNKEPT_STATUS:
        abandon(row_id)
        return
    IdempotentRequest.objects.filter(pk=row_id).update(status_code=status_code, content_type=content_type, body=body)


def abandon(row_id: int) -> None:
    """Free the key (the request failed on our side): a retry runs for real."""
    IdempotentRequest.objects.filter(pk=row_id, status_code__isnull=True).delete()


def prune(*, now: Any = None) -> int:
    """Forget keys older than ``KEEP`` (a scheduled task); returns how many."""
    now = now or timezone.now()
    deleted, _by_model = IdempotentRequest.objects.filter(created_at__lt=now - KEEP).delete()
    return deleted
