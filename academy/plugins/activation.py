"""Is a plugin active here? Site-wide and per-course choices of editors, cached.

The whole table of choices is small (plugins x courses that override the site), so it is read
in one query, kept in the shared cache and dropped there whenever a choice changes; a request
reads it from there at most once (``academy.middleware.request_cached``), however many fragments,
lesson kinds and receivers ask. Deciding costs no query.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal

from academy.middleware import forget_request_cached, request_cached
from academy.plugins.registry import PluginConfig, get_plugin, plugins

logger = logging.getLogger(__name__)

CACHE_KEY = "academy:plugins:activation:v1"
CACHE_SECONDS = 3600

#: Sent after commit when a choice changed: ``course_id`` is None for a site-wide change.
activation_changed = Signal()

#: Sent by the plugin screens before a plugin is switched off somewhere, with ``plugin`` (a
#: label), ``before`` and ``after`` (:class:`ActivationTable`): each receiver returns the ids of
#: the courses whose completion the switch changes (core answers: those with live lessons of
#: the plugin's lesson kinds that gate completion).
completion_changes = Signal()

#: Then, when some course's completion changes, sent with ``plugin`` and ``course_ids``: each
#: receiver returns a list of :class:`Impact` (or plain ``(what, count)`` pairs) saying what it
#: changes for people. Core answers for learners' progress; a plugin answers for what depends on
#: completion (certificates). The editor is asked to confirm, with these numbers.
switch_off_impact = Signal()


class Impact(NamedTuple):
    """One consequence of switching a plugin off: ``count`` of ``what`` (e.g. 12 "learners whose
    progress changes")."""

    what: str
    count: int


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


def table_after(label: str, state: str | None, *, course_id: int | None = None, current: ActivationTable | None = None) -> ActivationTable:
    """The table as it would be after :func:`set_state` with these arguments (nothing stored)."""
    current = current or table()
    site = dict(current.site)
    courses = {pk: dict(choices) for pk, choices in current.courses.items()}
    if course_id is None:
        if state is None:
            site.pop(label, None)
        else:
            site[label] = state
    elif state is None:
        courses.get(int(course_id), {}).pop(label, None)
    else:
        courses.setdefault(int(course_id), {})[label] = state == "on"
    return ActivationTable(site=site, courses=courses)


def impact_of_switch(label: str, after: ActivationTable) -> tuple[list[int], list[Impact]]:
    """The courses whose completion switching to ``after`` changes, and what that changes for
    people (the receivers of :data:`completion_changes` and :data:`switch_off_impact`; one that
    fails is logged and counts for nothing). Empty when completion changes nowhere."""
    course_ids: set[int] = set()
    for answer in _answers(completion_changes, plugin=label, before=table(), after=after):
        course_ids.update(int(pk) for pk in answer or [])
    if not course_ids:
        return [], []
    impacts = [
        Impact(str(what), int(count))
        for answer in _answers(switch_off_impact, plugin=label, course_ids=sorted(course_ids))
        for what, count in answer or []
    ]
    return sorted(course_ids), impacts


def _answers(signal: Signal, **kwargs: Any) -> list[Any]:
    answers = []
    for receiver, answer in signal.send_robust(sender=ActivationTable, **kwargs):
        if isinstance(answer, Exception):
            logger.error("%r failed while a plugin was being switched off", receiver, exc_info=answer)
        else:
            answers.append(answer)
    return answers


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
