"""Which domain events can be sent as webhooks, and the stable id of each occurrence.

An event id names the fact, not the dispatch: the same fact seen twice (domain events may
arrive twice) gets the same id, so one delivery per subscription; a new fact gets a new id.
The id is a UUID (version 5) over the event name and the fields that tell facts apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from academy.sdk import EVENTS, Enrollment

NAMESPACE = uuid.UUID("6b1c8f5e-0f3c-5c7b-9a1e-2f1d4a9c0b11")
PING = "ping"


def _enrollment_moment(field: str) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """Tell apart two requests / activations / cancellations of one enrollment by when they
    happened (the row's timestamp of that transition; the payload alone is the same)."""

    def key(payload: Mapping[str, Any]) -> tuple[Any, ...]:
        moment = Enrollment.objects.filter(pk=payload["enrollment_id"]).values_list(field, flat=True).first()
        return (payload["enrollment_id"], moment.isoformat() if moment else "")

    return key


#: Event name -> what tells its occurrences apart (besides the name). Order: as offered.
KEYS: dict[str, Callable[[Mapping[str, Any]], tuple[Any, ...]]] = {
    "enrollment_requested": _enrollment_moment("requested_at"),
    "enrollment_activated": _enrollment_moment("activated_at"),
    "enrollment_cancelled": _enrollment_moment("cancelled_at"),
    # Sent once per learner and lesson.
    "lesson_completed": lambda p: (p["user_id"], p["lesson_id"]),
    "course_completed": lambda p: (p["enrollment_id"], p["completed_at"]),
    # The certificates plugin's event, when it is installed: once per certificate.
    "certificates_issued": lambda p: (p["certificate_id"],),
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


def event_id(name: str, payload: Mapping[str, Any]) -> str:
    """The stable id of this occurrence of event ``name``."""
    key = KEYS.get(name)
    parts = key(payload) if key else (json.dumps(payload, sort_keys=True, default=str),)
    return str(uuid.uuid5(NAMESPACE, json.dumps([name, *parts], default=str)))
