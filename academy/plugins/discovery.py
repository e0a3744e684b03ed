"""Find the plugins to install, at settings time (before Django's app registry is populated).

First-party plugins are the packages in ``plugins/<name>/`` (those with an ``apps.py``); outside
ones are installed with pip and declare an entry point in the group ``academy.plugins``::

    [project.entry-points."academy.plugins"]
    hello = "academy_hello"

``ACADEMY_PLUGINS_EXCLUDE`` names plugins to leave out (entry-point name, folder name, app label
or module). A plugin that cannot be imported, has no :class:`~academy.plugins.registry.PluginConfig`,
lacks metadata or needs a newer core is *refused*: it is left out of ``INSTALLED_APPS`` and the
system check ``academy.E100`` names it with the reason, so the site does not start with a
feature silently missing (nor crash with a traceback from inside the plugin).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

ENTRY_POINT_GROUP = "academy.plugins"
REQUIRED_METADATA = ("plugin_name", "version", "author", "description", "min_core_version")


@dataclass(frozen=True)
class Refusal:
    """A plugin that was found and left out, and why."""

    plugin: str
    reason: str


@dataclass
class Discovery:
    """The outcome: dotted AppConfig paths for INSTALLED_APPS, and the refused plugins."""

    apps: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def candidates(plugins_dir: Path | None) -> list[tuple[str, str]]:
    """``(name, module)`` of every first-party plugin folder and every entry point, in order."""
    found: list[tuple[str, str]] = []
    if plugins_dir is not None and plugins_dir.is_dir():
        for folder in sorted(plugins_dir.iterdir()):
            if (folder / "apps.py").is_file() and folder.name.isidentifier():
                found.append((folder.name, f"{plugins_dir.name}.{folder.name}"))
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        found.append((entry.name, entry.value.split(":")[0].strip()))
    return found


def discover(plugins_dir: Path | None, *, exclude: Iterable[str] = (), core_version: str) -> Discovery:
    """Check every candidate plugin; return what to install and what was refused."""
    excluded = {name.strip() for name in exclude if name.strip()}
    result = Discovery()
    seen: set[str] = set()
    for name, module in candidates(plugins_dir):
        if name in excluded or module in excluded or module in seen:
            continue
        seen.add(module)
        outcome = inspect_plugin(name, module, core_version=core_version)
        if isinstance(outcome, Refusal):
            result.refused.append(outcome)
            continue
        dotted, label = outcome
        if label in excluded:
            continue
        result.apps.append(dotted)
    return result


def inspect_plugin(name: str, module: str, *, core_version: str) -> tuple[str, str] | Refusal:
    """``(dotted AppConfig path, app label)`` of a sound plugin, or why it is refused."""
    from academy.plugins.registry import PluginConfig

    try:
        package = importlib.import_module(module)
        apps_module = importlib.import_module(f"{module}.apps")
        _compile_sources(package)
    except Exception as exc:  # anything a broken plugin raises must become a refusal
        return Refusal(name, f"could not be imported: {type(exc).__name__}: {exc}")
    configs = [
        cls
        for _, cls in inspect.getmembers(apps_module, inspect.isclass)
        if issubclass(cls, PluginConfig) and cls is not PluginConfig and cls.__module__ == apps_module.__name__
    ]
    if len(configs) != 1:
        return Refusal(name, f"{module}.apps must define exactly one PluginConfig subclass (found {len(configs)})")
    config = configs[0]
    missing = [attr for attr in REQUIRED_METADATA if not str(getattr(config, attr, "") or "").strip()]
    if missing:
        return Refusal(name, f"metadata missing on {config.__name__}: {', '.join(missing)}")
    try:
        needs, have = Version(config.min_core_version), Version(core_version)
        Version(config.version)
    except InvalidVersion as exc:
        return Refusal(name, f"invalid version in {config.__name__}: {exc}")
    if needs > have:
        return Refusal(name, f"needs Academy core >= {needs}, this is {have}")
    label = getattr(config, "label", None) or config.name.rpartition(".")[2]
    return f"{apps_module.__name__}.{config.__name__}", label


def _compile_sources(package: object) -> None:
    """Compile (not import) every module of the plugin, so a syntax error anywhere in it is a
    refusal here rather than a crash while Django loads its models."""
    for folder in getattr(package, "__path__", []):
        for path in Path(folder).rglob("*.py"):
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
