"""AppConfig for live updates."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """WebSocket consumers and the event outbox."""

    name = "realtime"
    verbose_name = "Live updates"
