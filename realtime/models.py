"""The stored event outbox: every live push is a row first, so nothing pushed is ever lost.

Ids increase; a reconnecting client sends the last id it saw and gets the rows after it. In the
embedded mode (no shared channel layer) the web process relays new rows to its sockets.
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """One pushed event, addressed to one channel-layer group (see ``realtime.groups``)."""

    id = models.BigAutoField(primary_key=True)
    group = models.CharField(max_length=100, help_text="The group the event was pushed to.")
    type = models.CharField(max_length=60, help_text='"<app>.<event>", e.g. "progress.updated".')
    data = models.JSONField(encoder=DjangoJSONEncoder, default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["group", "id"], name="realtime_event_group_id")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} to {self.group}"

    def frame(self) -> str:
        """The WebSocket text frame sent to clients: ``{"type", "id", "data"}``."""
        return event_frame(event_type=self.type, event_id=self.pk, data=self.data)


def event_frame(*, event_type: str, event_id: int, data: object) -> str:
    """Serialise one server frame (compact JSON, the wire format of every event)."""
    return json.dumps(
        {"type": event_type, "id": event_id, "data": data}, cls=DjangoJSONEncoder, separators=(",", ":")
    )
