"""SDK: the event machinery (defining a plugin's own events, receiving any)."""

from __future__ import annotations

from academy.events import EVENTS, Event, PayloadError
from academy.events import connect as on_event

__all__ = ["EVENTS", "Event", "PayloadError", "on_event"]
