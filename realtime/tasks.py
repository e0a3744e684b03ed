"""Periodic tasks of the live-update layer: pruning the event outbox."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from academy.schedules import ScheduledTask
from realtime import conf
from realtime.models import Event

SCHEDULES = [ScheduledTask(name="prune-outbox", func="realtime.tasks.prune_outbox", minutes=60)]


def prune_outbox(*, older_than_hours: float | None = None) -> int:
    """Delete stored events older than the retention window; returns how many were deleted.

    Clients resuming from before the window get a ``resync`` frame and reload their state.
    Safe to run twice.
    """
    hours = conf.get("REALTIME_OUTBOX_RETENTION_HOURS") if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return deleted
