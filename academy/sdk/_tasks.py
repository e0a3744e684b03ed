"""SDK: background work (``academy.tasks``, ``academy.schedules``)."""

from __future__ import annotations

from academy.schedules import ScheduledTask
from academy.tasks import enqueue

__all__ = ["ScheduledTask", "enqueue"]
