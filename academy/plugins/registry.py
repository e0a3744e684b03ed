"""Plugin metadata (:class:`PluginConfig`), the installed plugins, and the plugins refused once
Django's app registry could import the rest of their code.

Discovery (at settings time) can only import a plugin's package and ``apps`` module. The rest is
imported here, each failure turning into a *refusal* that names the plugin, the file and the line
(system check ``academy.E100``), never a traceback that takes the site down: ``models.py`` while
Django loads models, ``receivers.py``, ``slots.py`` and ``wagtail_hooks.py`` in ``ready()``, and
``urls.py``, ``api.py``, ``root_urls.py``, ``routing.py`` when the URLs are mounted. A refused
plugin is left out of :func:`plugins` and is never active: none of its URLs, fragments, receivers,
lesson kinds, admin screens or schedules work until it is fixed or excluded.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable
from types import ModuleType

from django.apps import AppConfig, apps
from django.conf import settings

from academy.plugins.refusals import Exclusion, Refusal, refusal_from

logger = logging.getLogger(__name__)

#: Modules a plugin may contribute, found by name (no registration code in core).
RECEIVERS_MODULE = "receivers"
SLOTS_MODULE = "slots"

#: What else runs in every plugin's ``ready()``, added by the modules that need it (so this one
#: imports none of them): ``academy.plugins.admin_hooks`` loads and gates the admin hooks.
READY_STEPS: list[Callable[[PluginConfig], None]] = []


class PluginConfig(AppConfig):
    """Base AppConfig of every plugin: metadata, and the import of its contribution modules.

    Subclass it in the plugin's ``apps.py`` and fill in the metadata::

        class HelloConfig(PluginConfig):
            name = "academy_hello"
            label = "hello"
            plugin_name = "Hello"
            version = "1.0.0"
            author = "Jane Doe"
            description = "Greets learners on their dashboard."
            min_core_version = "0.2"
    """

    #: Human-readable name shown to editors (defaults to ``verbose_name``).
    plugin_name: str = ""
    version: str = ""
    author: str = ""
    description: str = ""
    #: The lowest Academy core version (``academy.__version__``) the plugin works with.
    min_core_version: str = ""
    #: Active for a course unless an editor switches it off (True), or only where switched on.
    default_active: bool = True
    #: Whether editors switch it per course (False: site-wide only, e.g. a header widget).
    per_course: bool = True

    default = False  # never picked by Django's apps.py auto-detection (discovery names the class)

    def import_models(self) -> None:
        """Django's import of ``models.py``; a failure refuses the plugin instead of stopping
        the site (its models are then missing: it stays off)."""
        try:
            super().import_models()
        except Exception as exc:  # anything a broken plugin raises must become a refusal
            self.models_module = None
            refuse(self, exc, what="models.py could not be imported")

    def ready(self) -> None:
        """Import the plugin's ``receivers`` and ``slots`` modules when it has them (a failure
        refuses the plugin), then run :data:`READY_STEPS` (its ``wagtail_hooks``, gated)."""
        if is_refused(self.label):
            return
        for name in (RECEIVERS_MODULE, SLOTS_MODULE):
            try:
                contribution(self, name)
            except Exception as exc:  # anything a broken plugin raises must become a refusal
                refuse(self, exc, what=f"{name}.py could not be imported")
                break
        for step in READY_STEPS:
            step(self)

    @property
    def display_name(self) -> str:
        """The name editors see."""
        return self.plugin_name or str(self.verbose_name)


def contribution(config: AppConfig, module: str) -> ModuleType | None:
    """Import ``<app>.<module>`` if the app has it (an error inside it is raised, not hidden)."""
    dotted = f"{config.name}.{module}"
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name != dotted:
            raise
        return None


def plugins() -> list[PluginConfig]:
    """Every installed plugin that was not refused, in INSTALLED_APPS order."""
    return [
        config
        for config in apps.get_app_configs()
        if isinstance(config, PluginConfig) and config.label not in _refused_at_runtime
    ]


def get_plugin(label: str) -> PluginConfig | None:
    """The installed plugin with app label ``label`` (None when there is none, or it was refused)."""
    try:
        config = apps.get_app_config(label)
    except LookupError:
        return None
    if label in _refused_at_runtime:
        return None
    return config if isinstance(config, PluginConfig) else None


# --- Refusals ------------------------------------------------------------------------------------

#: Plugins refused after discovery (their code failed once the app registry could import it).
_refused_at_runtime: dict[str, Refusal] = {}


def refuse(config: AppConfig, exc: BaseException, *, what: str) -> Refusal:
    """Refuse the installed plugin ``config`` because ``exc`` was raised by its code (the first
    failure is kept): it is off from now on, and ``academy.E100`` names it."""
    refusal = refusal_from(config.label, exc, folders=[config.path], what=what)
    if config.label not in _refused_at_runtime:
        _refused_at_runtime[config.label] = refusal
        logger.error("plugin %s refused: %s (%s)", config.label, refusal.reason, refusal.where or "no file")
    return _refused_at_runtime[config.label]


def is_refused(label: str) -> bool:
    """Whether the installed plugin ``label`` was refused after discovery."""
    return label in _refused_at_runtime


def refusals() -> list[Refusal]:
    """Every refused plugin: at discovery (settings time), then since (its code failed)."""
    found = getattr(settings, "ACADEMY_PLUGINS_DISCOVERY", None)
    early = list(found.refused) if found is not None else [
        Refusal(name, reason) for name, reason in getattr(settings, "ACADEMY_PLUGINS_REFUSED", [])
    ]
    return [*early, *_refused_at_runtime.values()]


def exclusions() -> list[Exclusion]:
    """The plugins ``ACADEMY_PLUGINS_EXCLUDE`` left out."""
    found = getattr(settings, "ACADEMY_PLUGINS_DISCOVERY", None)
    return list(found.excluded) if found is not None else []


def absent_labels() -> frozenset[str]:
    """App labels (or names) of plugins that exist but do not run here: excluded or refused.
    What they stored (pages of their lesson kinds, live frames) is hidden like a plugin that is
    switched off."""
    return frozenset({e.label for e in exclusions()} | {r.plugin for r in refusals()})


def fingerprint() -> str:
    """Changes whenever the set of plugins changes (installed, upgraded, excluded, refused):
    part of the keys of cached pages, so a restart with another set never serves the old ones."""
    found = getattr(settings, "ACADEMY_PLUGINS_DISCOVERY", None)
    base = found.fingerprint if found is not None else ""
    late = ",".join(sorted(_refused_at_runtime))
    return hashlib.sha256(f"{base}|{late}".encode()).hexdigest()[:12] if late else base
