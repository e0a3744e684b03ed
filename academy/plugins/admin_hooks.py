"""A plugin's Wagtail admin contributions follow its activation, with no gating code in the plugin.

Each plugin's ``wagtail_hooks.py`` is imported by its ``PluginConfig.ready()`` (a ready step this
module adds, imported by ``AcademyConfig.ready()``, which runs first; before Wagtail's own search
for hook modules, which then finds it imported), and what it registers is wrapped:

- ``register_admin_urls``: every view of the returned patterns (nested includes too) answers 404
  while the plugin is switched off site-wide;
- ``register_admin_viewset``: the same for the viewset's URLs, and its menu item is hidden;
- ``register_admin_menu_item``, ``register_settings_menu_item``, ``register_reports_menu_item``,
  ``register_help_menu_item``: the item (a whole submenu) is hidden while the plugin is off.

Hooks registered on a plugin's behalf by a library (``modeladmin_register`` registers bound
methods of the plugin's ``ModelAdmin``) count as the plugin's: whatever its ``wagtail_hooks``
registers while it is imported, and any hook whose function or owning object is defined in the
plugin. A ``wagtail_hooks.py`` that raises refuses the plugin (``academy.E100``) and is replaced
by an empty module, so Wagtail's search does not stop the site on it.

Admin screens are site-wide: a plugin switched off for one course keeps its admin (its own views
decide per course, as they decide who may see what).
"""

from __future__ import annotations

import functools
import importlib.machinery
import sys
import types
from collections.abc import Callable
from typing import Any

from wagtail import hooks

from academy.plugins import activation
from academy.plugins.registry import READY_STEPS, contribution, refuse
from academy.plugins.urls import gate_patterns

HOOKS_MODULE = "wagtail_hooks"
URL_HOOKS = frozenset({"register_admin_urls"})
VIEWSET_HOOKS = frozenset({"register_admin_viewset"})
MENU_HOOKS = frozenset({
    "register_admin_menu_item",
    "register_settings_menu_item",
    "register_reports_menu_item",
    "register_help_menu_item",
})
_GATED = "_academy_gated_for"


def load(config: Any) -> None:
    """Import ``config``'s ``wagtail_hooks`` (refusing the plugin when it raises) and gate every
    admin hook that belongs to it."""
    dotted = f"{config.name}.{HOOKS_MODULE}"
    # Wagtail has no public way to wrap a registered hook: its registry (``hooks._hooks``, a dict
    # of lists of ``(fn, order)``, also used by its own ``register_temporarily``) is edited in
    # place, each entry replaced by its gated wrapper with the same order.
    before = {name: len(entries) for name, entries in hooks._hooks.items()}
    try:
        contribution(config, HOOKS_MODULE)
    except Exception as exc:  # anything a broken plugin raises must become a refusal
        refuse(config, exc, what=f"{HOOKS_MODULE}.py could not be imported")
        stand_in = types.ModuleType(dotted, "Stand-in for a plugin's hooks module that failed.")
        stand_in.__spec__ = importlib.machinery.ModuleSpec(dotted, loader=None)
        sys.modules[dotted] = stand_in
    for name in URL_HOOKS | VIEWSET_HOOKS | MENU_HOOKS:
        entries = hooks._hooks.get(name, [])
        for index, (fn, order) in enumerate(entries):
            if index >= before.get(name, 0) or owner_plugin(fn) == config.label:
                entries[index] = (gate_hook(name, fn, config.label), order)


def owner_plugin(fn: Any) -> str | None:
    """The plugin that defines hook function ``fn`` (or the object a bound method belongs to)."""
    from academy.events import plugin_of

    target = getattr(fn, "func", fn)  # functools.partial
    owner = getattr(target, "__self__", None)
    module = type(owner).__module__ if owner is not None and not isinstance(owner, type) else getattr(target, "__module__", "")
    return plugin_of(module or "")


def gate_hook(name: str, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    """``fn`` whose result follows plugin ``label``'s site-wide activation (once: a gated hook is
    returned as it is)."""
    if getattr(fn, _GATED, None) == label:
        return fn
    if name in URL_HOOKS:
        gate = _results(fn, lambda patterns: _gated_patterns(patterns, label))
    elif name in VIEWSET_HOOKS:
        gate = _results(fn, lambda viewsets: _gate_viewsets(viewsets, label))
    else:
        gate = _results(fn, lambda item: gate_menu_item(item, label))
    setattr(gate, _GATED, label)
    return gate


def _results(fn: Callable[..., Any], change: Callable[[Any], Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def gated(*args: Any, **kwargs: Any) -> Any:
        return change(fn(*args, **kwargs))

    return gated


def _gated_patterns(patterns: Any, label: str) -> Any:
    return gate_patterns(list(patterns), label) if patterns else patterns


def gate_menu_item(item: Any, label: str) -> Any:
    """Hide menu item ``item`` (a submenu too) while plugin ``label`` is off site-wide."""
    if item is None or getattr(item, _GATED, None) == label:
        return item
    shown = item.is_shown

    def is_shown(request: Any) -> bool:
        return activation.is_active(label) and bool(shown(request))

    item.is_shown = is_shown
    setattr(item, _GATED, label)
    return item


def _gate_viewsets(found: Any, label: str) -> Any:
    """Gate a viewset (a list of them, a group and its members): its URLs and its menu item."""
    from wagtail.admin.viewsets.base import ViewSetGroup

    if isinstance(found, list | tuple):
        for viewset in found:
            _gate_viewsets(viewset, label)
        return found
    if found is None or getattr(found, _GATED, None) == label:
        return found
    if isinstance(found, ViewSetGroup):
        for member in found.registerables:
            _gate_viewsets(member, label)
    else:
        urls = found.get_urlpatterns
        found.get_urlpatterns = lambda: _gated_patterns(urls(), label)
    menu_item = found.get_menu_item
    found.get_menu_item = lambda *args, **kwargs: gate_menu_item(menu_item(*args, **kwargs), label)
    setattr(found, _GATED, label)
    return found


READY_STEPS.append(load)
