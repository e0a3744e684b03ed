"""AppConfig for live updates."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """WebSocket consumers and the event outbox."""

    name = "realtime"
    verbose_name = "Live updates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the receivers that turn domain events into live pushes."""
        from realtime import receivers  # noqa: F401
