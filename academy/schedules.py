"""Periodic tasks declared by apps, synchronised into Django-Q2's Schedule table.

An app declares ``SCHEDULES: list[ScheduledTask]`` in its ``tasks.py``. Names are global and
prefixed with the app label, so a plugin's schedules never collide with core's.

A plugin's schedule is stored as a call of :func:`run_if_active` with the plugin's label and its
function: it runs only while the plugin is active site-wide (not switched off, installed, not
refused), with no check in the plugin. Switching the plugin on again needs no new sync.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections, transaction
from django.utils import timezone
from django_q.models import Schedule

logger = logging.getLogger(__name__)

# Schedules managed here carry this prefix; hand-made schedules in the admin are left alone.
MANAGED_PREFIX = "academy:"
# Key of the PostgreSQL advisory lock that serialises concurrent syncs ("academy" in ASCII).
SYNC_LOCK_KEY = 0x61636164656D79


@dataclass(frozen=True)
class ScheduledTask:
    """One periodic task: a dotted function path run every ``minutes`` minutes."""

    name: str
    func: str
    minutes: int
    kwargs: dict[str, Any] = field(default_factory=dict)

    def schedule_name(self, app_label: str) -> str:
        """The unique name stored in Django-Q2."""
        return f"{MANAGED_PREFIX}{app_label}:{self.name}"

    def stored_call(self, plugin: str | None) -> tuple[str, dict[str, Any]]:
        """``(func, kwargs)`` stored in Django-Q2: the function itself for core, the activation
        gate :func:`run_if_active` around it for plugin ``plugin``."""
        if plugin is None:
            return self.func, dict(self.kwargs)
        return GATED_FUNC, {PLUGIN_KWARG: plugin, FUNC_KWARG: self.func, **self.kwargs}


GATED_FUNC = "academy.schedules.run_if_active"
PLUGIN_KWARG = "academy_plugin"
FUNC_KWARG = "academy_func"


def run_if_active(**kwargs: Any) -> Any:
    """Run a plugin's scheduled function (``academy_func``, with the other keyword arguments)
    unless its plugin (``academy_plugin``) is switched off site-wide, refused or not installed."""
    from academy.plugins import activation

    plugin, func = kwargs.pop(PLUGIN_KWARG), kwargs.pop(FUNC_KWARG)
    if not activation.is_active(plugin):
        logger.info("schedule %s skipped: plugin %s is switched off", func, plugin)
        return None
    module, _, name = func.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


@dataclass
class SyncResult:
    """What :func:`sync_schedules` changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


def declared_schedules() -> dict[str, ScheduledTask]:
    """Every installed app's ``tasks.SCHEDULES``, keyed by stored schedule name."""
    return {name: task for name, (task, _plugin) in _declared().items()}


def _declared() -> dict[str, tuple[ScheduledTask, str | None]]:
    """``{stored name: (task, plugin label or None for core)}``."""
    from academy.plugins.registry import PluginConfig

    declared: dict[str, tuple[ScheduledTask, str | None]] = {}
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tasks":
                raise
            continue
        plugin = config.label if isinstance(config, PluginConfig) else None
        for task in getattr(module, "SCHEDULES", []):
            declared[task.schedule_name(config.label)] = (task, plugin)
    return declared


def _serialise_syncs() -> None:
    """Hold a lock until the transaction ends, so two syncs started at once (two containers
    starting, ``make run`` twice) cannot both create the same schedule. SQLite needs nothing:
    its transactions take the write lock up front (``transaction_mode = IMMEDIATE``)."""
    connection = connections[Schedule.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK_KEY])


@transaction.atomic
def sync_schedules() -> SyncResult:
    """Make Django-Q2's managed schedules match the declarations; safe to run any number of times
    (also concurrently), and it repairs duplicates left by older versions."""
    result = SyncResult()
    _serialise_syncs()
    declared = _declared()
    existing: dict[str, Schedule] = {}
    for schedule in Schedule.objects.select_for_update().filter(name__startswith=MANAGED_PREFIX).order_by("pk"):
        if schedule.name in existing:  # Django-Q2 does not make names unique: keep the oldest
            schedule.delete()
            result.removed += 1
        else:
            existing[schedule.name] = schedule
    for name, (task, plugin) in declared.items():
        func, kwargs = task.stored_call(plugin)
        wanted = {
            "func": func,
            "kwargs": repr(kwargs) if kwargs else None,
            "schedule_type": Schedule.MINUTES,
            "minutes": task.minutes,
            "repeats": -1,
        }
        schedule = existing.pop(name, None)
        if schedule is None:
            Schedule.objects.create(name=name, next_run=timezone.now(), **wanted)
            result.created += 1
        elif any(getattr(schedule, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(schedule, key, value)
            schedule.save()
            result.updated += 1
        else:
            result.unchanged += 1
    for schedule in existing.values():
        schedule.delete()
        result.removed += 1
    return result
