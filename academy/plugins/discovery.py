"""Find the plugins to install, at settings time (before Django's app registry is populated).

First-party plugins are the packages in ``plugins/<name>/`` (those with an ``apps.py``); outside
ones are installed with pip and declare an entry point in the group ``academy.plugins``::

    [project.entry-points."academy.plugins"]
    hello = "academy_hello"

``ACADEMY_PLUGINS_EXCLUDE`` names plugins to leave out (entry-point name, folder name, app label
or module); a name that matches no plugin is kept in :attr:`Discovery.unknown_excludes` (the
system check ``academy.W101`` names it and the known ones). A plugin that cannot be imported, has
no :class:`~academy.plugins.registry.PluginConfig`, lacks metadata or needs a newer core is
*refused*: it is left out of ``INSTALLED_APPS`` and the system check ``academy.E100`` names it
with the reason, the file and the line, so the site does not start with a feature silently
missing (nor crash with a traceback from inside the plugin). What can only be imported once
Django's app registry is ready (``models.py``, ``urls.py``, ``api.py``...) is refused the same way
later, by :mod:`academy.plugins.registry`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from academy.plugins.refusals import Exclusion, Refusal, refusal_from

ENTRY_POINT_GROUP = "academy.plugins"
REQUIRED_METADATA = ("plugin_name", "version", "author", "description", "min_core_version")


@dataclass
class Discovery:
    """The outcome: dotted AppConfig paths for INSTALLED_APPS, the refused and the excluded
    plugins, the names of ``ACADEMY_PLUGINS_EXCLUDE`` that match no plugin and the names that do
    exist (for the warning), and a fingerprint of the whole set (for caches of rendered pages)."""

    apps: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    unknown_excludes: list[str] = field(default_factory=list)
    known_names: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Changes whenever a plugin is installed, upgraded, excluded or refused."""
        parts = [
            *(f"app:{dotted}:{self.versions.get(dotted, '')}" for dotted in self.apps),
            *(f"refused:{r.plugin}" for r in self.refused),
            *(f"excluded:{e.plugin}" for e in self.excluded),
        ]
        return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:12]


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
    matched: set[str] = set()
    result = Discovery()
    seen: set[str] = set()
    known: set[str] = set()
    for name, module in candidates(plugins_dir):
        if module in seen:
            continue
        seen.add(module)
        known.add(name)
        if name in excluded or module in excluded:
            matched |= {name, module} & excluded
            label = _label_of(module) or name
            matched |= {label} & excluded
            known.add(label)
            result.excluded.append(Exclusion(name, label))
            continue
        outcome = inspect_plugin(name, module, core_version=core_version)
        if isinstance(outcome, Refusal):
            result.refused.append(outcome)
            continue
        dotted, label, version = outcome
        known.add(label)
        if label in excluded:
            matched.add(label)
            result.excluded.append(Exclusion(name, label))
            continue
        result.apps.append(dotted)
        result.versions[dotted] = version
    result.unknown_excludes = sorted(excluded - matched)
    result.known_names = sorted(known)
    return result


def _folders(module: str) -> list[str]:
    """The folders of package ``module`` without importing it (empty when it cannot be found)."""
    try:
        spec = importlib.util.find_spec(module)
    except Exception:  # a broken parent package: no folder to point at
        return []
    return list(spec.submodule_search_locations or []) if spec is not None else []


def _label_of(module: str) -> str | None:
    """The app label of an excluded plugin, when its ``apps`` module can be read (it is not
    checked any further: an excluded plugin may well be broken)."""
    from academy.plugins.registry import PluginConfig

    try:
        apps_module = importlib.import_module(f"{module}.apps")
    except Exception:  # excluded because it is broken, perhaps: its name will do
        return None
    for _, cls in inspect.getmembers(apps_module, inspect.isclass):
        if issubclass(cls, PluginConfig) and cls is not PluginConfig and cls.__module__ == apps_module.__name__:
            return getattr(cls, "label", None) or cls.name.rpartition(".")[2]
    return None


def inspect_plugin(name: str, module: str, *, core_version: str) -> tuple[str, str, str] | Refusal:
    """``(dotted AppConfig path, app label, version)`` of a sound plugin, or why it is refused."""
    from academy.plugins.registry import PluginConfig

    package = None
    try:
        package = importlib.import_module(module)
        apps_module = importlib.import_module(f"{module}.apps")
        _compile_sources(package)
    except Exception as exc:  # anything a broken plugin raises must become a refusal
        return refusal_from(name, exc, folders=getattr(package, "__path__", None) or _folders(module))
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
    return f"{apps_module.__name__}.{config.__name__}", label, config.version


def _compile_sources(package: object) -> None:
    """Compile (not import) every module of the plugin, so a syntax error anywhere in it is a
    refusal here rather than a crash while Django loads its models."""
    for folder in getattr(package, "__path__", []):
        for path in Path(folder).rglob("*.py"):
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
