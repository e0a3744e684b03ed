"""Which domain events can be sent as webhooks, and the stable id of each occurrence.

An event id names the fact, not the dispatch: the same fact seen twice (domain events may
arrive twice) gets the same id, so one delivery per subscription; a new fact gets a new id.
The id is a UUID (version 5) over the event name and the fields that tell facts apart: the
payload's, or for the enrollment transitions (whose payload is the same for two requests of one
enrollment) the domain event's own ``event_id``, which its stored copy keeps, so the receiver
that runs right after the commit and the outbox sweep that runs it later agree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from academy.sdk import EVENTS

NAMESPACE = uuid.UUID("6b1c8f5e-0f3c-5c7b-9a1e-2f1d4a9c0b11")
PING = "ping"

#: What tells occurrences of an event apart: ``key(payload, occurrence)`` where ``occurrence``
#: is the domain event's ``event_id``.
Key = Callable[[Mapping[str, Any], str], tuple[Any, ...]]


def _transition(payload: Mapping[str, Any], occurrence: str) -> tuple[Any, ...]:
    """A request / activation / cancellation of an enrollment: each is emitted once, under the
    enrollment's row lock, so the occurrence's own id tells two of one enrollment apart."""
    return (payload["enrollment_id"], occurrence)


#: Event name -> what tells its occurrences apart (besides the name). Order: as offered.
KEYS: dict[str, Key] = {
    "enrollment_requested": _transition,
    "enrollment_activated": _transition,
    "enrollment_cancelled": _transition,
    # Sent once per learner and lesson.
    "lesson_completed": lambda p, _occurrence: (p["user_id"], p["lesson_id"]),
    "course_completed": lambda p, _occurrence: (p["enrollment_id"], p["completed_at"]),
    # The certificates plugin's event, when it is installed: once per certificate.
    "certificates_issued": lambda p, _occurrence: (p["certificate_id"],),
}

DESCRIPTIONS = {
    "enrollment_requested": "A learner asked to join a course",
    "enrollment_activated": "An enrollment opened a course",
    "enrollment_cancelled": "An enrollment was cancelled",
    "lesson_completed": "A learner completed a lesson",
    "course_completed": "A learner completed a course",
    "certificates_issued": "A certificate was issued",
}


def event_types() -> list[str]:
    """The event types a subscription may ask for: those installed here."""
    return [name for name in KEYS if name in EVENTS]


def choices() -> list[tuple[str, str]]:
    """``(name, label)`` of :func:`event_types`, for forms."""
    return [(name, f"{name}: {DESCRIPTIONS[name]}") for name in event_types()]


def event_id(name: str, payload: Mapping[str, Any], *, occurrence: str) -> str:
    """The stable id of this occurrence of event ``name`` (``occurrence``: the domain event's
    ``event_id``)."""
    key = KEYS.get(name)
    parts = key(payload, occurrence) if key else (json.dumps(payload, sort_keys=True, default=str),)
    return str(uuid.uuid5(NAMESPACE, json.dumps([name, *parts], default=str)))
