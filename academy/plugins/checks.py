"""System checks of the plugins.

- ``academy.E100``: a plugin was refused, at discovery or since (its ``models.py``, ``urls.py``,
  ``api.py``... raised), or one of its modules fails to import now. The message names the plugin,
  the reason, the file and the line; the hint is the exclude setting that leaves it out.
- ``academy.W101``: a name in ``ACADEMY_PLUGINS_EXCLUDE`` matches no plugin (a typo leaves the
  plugin it meant running); the message lists the names that do exist.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from academy.plugins.discovery import Refusal, refusal_from
from academy.plugins.registry import plugins, refusals

REFUSED_ID = "academy.E100"
UNKNOWN_EXCLUDE_ID = "academy.W101"
#: Folders of a plugin package that are not part of the running plugin (not imported by the check).
SKIPPED_PACKAGES = frozenset({"tests", "migrations"})


def refused_error(refusal: Refusal) -> Error:
    """The ``academy.E100`` error of one refusal."""
    where = f" ({refusal.where})" if refusal.where else ""
    return Error(
        f"Plugin {refusal.plugin!r} was refused: {refusal.reason}{where}.",
        hint=f"Fix or upgrade it, or leave it out: set ACADEMY_PLUGINS_EXCLUDE={refusal.plugin}",
        id=REFUSED_ID,
    )


@register()
def refused_plugins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """One error per refused plugin, and per installed plugin one of whose modules fails to
    import (every module of the package is imported here, where the app registry allows it)."""
    found = refusals()
    named = {refusal.plugin for refusal in found}
    for plugin in plugins():
        if plugin.label in named:
            continue
        failure = import_failure(plugin.name, plugin.label, plugin.path)
        if failure is not None:
            found.append(failure)
    return [refused_error(refusal) for refusal in found]


def import_failure(package: str, label: str, folder: str) -> Refusal | None:
    """The first module of ``package`` (in ``folder``) that fails to import, as a refusal."""
    for module in pkgutil.walk_packages([folder], prefix=f"{package}.", onerror=lambda name: None):
        parts = module.name.split(".")
        if SKIPPED_PACKAGES & set(parts[len(package.split(".")):]) or parts[-1] == "conftest":
            continue
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # anything a broken plugin raises must become a refusal
            return refusal_from(label, exc, folders=[folder], what=f"{parts[-1]}.py could not be imported")
    return None


@register()
def unknown_excludes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """One warning per ``ACADEMY_PLUGINS_EXCLUDE`` name that matches no plugin."""
    found = getattr(settings, "ACADEMY_PLUGINS_DISCOVERY", None)
    if found is None:
        return []
    known = ", ".join(found.known_names) or "none"
    return [
        Warning(
            f"ACADEMY_PLUGINS_EXCLUDE names {name!r}, which is no plugin here: nothing was left out for it.",
            hint=f"Known plugin names: {known}.",
            id=UNKNOWN_EXCLUDE_ID,
        )
        for name in found.unknown_excludes
    ]
