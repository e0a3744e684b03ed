"""Is a plugin active here? Site-wide and per-course choices of editors, cached.

The whole table of choices is small (plugins x courses that override the site), so it is read
in one query, kept in the shared cache and dropped there whenever a choice changes; a request
reads it from there at most once (``academy.middleware.request_cached``), however many fragments,
lesson kinds and receivers ask. Deciding costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

from academy.middleware import forget_request_cached, request_cached
from academy.plugins.registry import PluginConfig, get_plugin, plugins

CACHE_KEY = "academy:plugins:activation:v1"
CACHE_SECONDS = 3600

#: Sent after commit when a choice changed: ``course_id`` is None for a site-wide change.
activation_changed = Signal()


@dataclass(frozen=True)
class ActivationTable:
    """Editors' choices: site-wide state per plugin, and per-course overrides."""

    site: dict[str, str] = field(default_factory=dict)
    courses: dict[int, dict[str, bool]] = field(default_factory=dict)

    def site_state(self, plugin: PluginConfig) -> str:
        """``on``, ``optin`` or ``off`` for the whole site."""
        return self.site.get(plugin.label) or ("on" if plugin.default_active else "optin")

    def is_active(self, plugin: PluginConfig, course_id: int | None) -> bool:
        """Whether ``plugin`` works for ``course_id`` (or site-wide when None)."""
        state = self.site_state(plugin)
        if state == "off":
            return False
        if course_id is None or not plugin.per_course:
            return True
        override = self.courses.get(int(course_id), {}).get(plugin.label)
        return override if override is not None else state == "on"


def load_table() -> ActivationTable:
    """Read every choice from the database (one query)."""
    from academy.models import PluginActivation

    table = ActivationTable()
    for plugin, course_id, state in PluginActivation.objects.values_list("plugin", "course_id", "state"):
        if course_id is None:
            table.site[plugin] = state
        else:
            table.courses.setdefault(course_id, {})[plugin] = state == "on"
    return table


def table() -> ActivationTable:
    """The table as this request first read it (from the shared cache, the database on a miss)."""
    return request_cached(CACHE_KEY, _shared_table)


def _shared_table() -> ActivationTable:
    found = cache.get(CACHE_KEY)
    if isinstance(found, ActivationTable):
        return found
    fresh = load_table()
    cache.set(CACHE_KEY, fresh, CACHE_SECONDS)
    return fresh


def is_active(label: str, *, course_id: Any = None, current: ActivationTable | None = None) -> bool:
    """Whether the plugin ``label`` is installed and active for ``course_id`` (a page id or a
    page), or site-wide when ``course_id`` is None."""
    plugin = get_plugin(label)
    if plugin is None:
        return False
    if course_id is not None and not isinstance(course_id, int):
        course_id = getattr(course_id, "pk", course_id)
    return (current or table()).is_active(plugin, course_id)


def active_plugins(course_id: int | None = None) -> list[PluginConfig]:
    """The installed plugins active for ``course_id`` (site-wide when None)."""
    current = table()
    return [plugin for plugin in plugins() if current.is_active(plugin, course_id)]


def set_state(label: str, state: str | None, *, course_id: int | None = None, user: Any = None) -> Any:
    """Record an editor's choice (``None`` removes a course override: "as the site says").

    Site-wide states are ``on``, ``optin`` and ``off``; a course takes ``on`` or ``off``.
    Returns the stored ``PluginActivation`` row (None when an override was removed).
    """
    from academy.models import PluginActivation

    allowed = {"on", "off"} if course_id is not None else {"on", "optin", "off"}
    if state is not None and state not in allowed:
        raise ValueError(f"state must be one of {sorted(allowed)}")
    if get_plugin(label) is None:
        raise LookupError(f"no installed plugin {label!r}")
    row = None
    with transaction.atomic():
        if state is None:
            PluginActivation.objects.filter(plugin=label, course_id=course_id).delete()
        else:
            row, _ = PluginActivation.objects.update_or_create(
                plugin=label, course_id=course_id, defaults={"state": state, "changed_by": user}
            )
        # Forget the table now (this transaction reads its own write) and again after commit (a
        # request that cached the old table meanwhile), then tell the page cache.
        cache.delete(CACHE_KEY)
        forget_request_cached(CACHE_KEY)
        transaction.on_commit(lambda: _changed(course_id), robust=True)
    return row


def _changed(course_id: int | None) -> None:
    from academy.models import PluginActivation

    cache.delete(CACHE_KEY)
    forget_request_cached(CACHE_KEY)
    activation_changed.send_robust(sender=PluginActivation, course_id=course_id)
