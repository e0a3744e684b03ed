"""Tunables of the live-update layer, read from Django settings (``REALTIME_*``) with defaults."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

DEFAULTS: dict[str, float | int] = {
    # Largest client frame accepted, in bytes (the ASGI server also caps frames, at 64 KiB).
    "REALTIME_MAX_CLIENT_FRAME_BYTES": 4096,
    # Token bucket per connection: BURST frames at once, refilled at RATE frames per second.
    "REALTIME_CLIENT_BURST": 20,
    "REALTIME_CLIENT_RATE_PER_SECOND": 2.0,
    # A connection that keeps flooding after this many refused frames is closed (4429).
    "REALTIME_CLIENT_MAX_REFUSED": 100,
    # Live frames wait this long for the client's first {"type":"resume"} (keeps order).
    "REALTIME_RESUME_WAIT_SECONDS": 3.0,
    # At most this many stored events are replayed; a longer gap gets a "resync" frame.
    "REALTIME_REPLAY_LIMIT": 500,
    # A socket re-validates its login session before a push at most this often.
    "REALTIME_SESSION_RECHECK_SECONDS": 300.0,
    # Channels' group membership expires (channels_redis group_expiry); sockets re-join sooner.
    "REALTIME_GROUP_REFRESH_SECONDS": 3600.0,
    # Embedded relay: how often it looks at the doorbell file, and polls the table regardless.
    "REALTIME_RELAY_BELL_SECONDS": 0.05,
    "REALTIME_RELAY_POLL_SECONDS": 2.0,
    # A hole in the id sequence (a transaction that has not committed yet) is waited for this long.
    "REALTIME_RELAY_GAP_SECONDS": 5.0,
    # Lesson presence (realtime.presence): an entry lives this long unless renewed (a killed
    # process's viewers vanish within it); counts are broadcast at most once per interval.
    "REALTIME_PRESENCE_TTL_SECONDS": 60.0,
    "REALTIME_PRESENCE_COALESCE_SECONDS": 1.0,
    # Embedded mode (no shared layer): each process re-reads its lessons' counts this often.
    "REALTIME_PRESENCE_POLL_SECONDS": 2.0,
    # Stored events are kept this long for resuming clients, then pruned by a schedule.
    "REALTIME_OUTBOX_RETENTION_HOURS": 48,
}


def get(name: str) -> float:
    """The setting ``name``, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def uses_relay() -> bool:
    """Whether pushes reach sockets through the outbox relay (no shared channel layer).

    True for the in-process layer of the embedded mode: the task worker is another process, so
    its group_send could never reach the web process's sockets.
    """
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return backend.endswith("InMemoryChannelLayer")


def bell_path() -> Path:
    """The doorbell file publishers touch so the relay of another process looks at once."""
    return Path(settings.DATA_DIR) / "realtime-outbox.bell"
