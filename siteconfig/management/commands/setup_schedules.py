"""``manage.py setup_schedules``: create or update the periodic tasks, idempotently.

Every installed app (core or plugin) may declare ``SCHEDULES`` in its ``tasks.py``: a list of
:class:`academy.schedules.ScheduledTask`. Running this twice leaves one Django-Q2 schedule per
name; schedules that an app no longer declares are removed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from academy.schedules import sync_schedules


class Command(BaseCommand):
    """Synchronise Django-Q2 schedules with what the installed apps declare."""

    help = "Create, update or remove the periodic tasks declared in each app's tasks.SCHEDULES."

    def handle(self, *args: Any, **options: Any) -> None:
        """Sync and report what changed."""
        result = sync_schedules()
        self.stdout.write(
            f"schedules: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.removed} removed"
        )
