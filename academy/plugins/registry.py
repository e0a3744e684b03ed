"""Plugin metadata (:class:`PluginConfig`) and the installed plugins."""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from django.apps import AppConfig, apps

logger = logging.getLogger(__name__)

#: Modules a plugin may contribute, found by name (no registration code in core).
RECEIVERS_MODULE = "receivers"
SLOTS_MODULE = "slots"


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

    def ready(self) -> None:
        """Import the plugin's ``receivers`` and ``slots`` modules when it has them."""
        for name in (RECEIVERS_MODULE, SLOTS_MODULE):
            contribution(self, name)

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
    """Every installed plugin, in INSTALLED_APPS order."""
    return [config for config in apps.get_app_configs() if isinstance(config, PluginConfig)]


def get_plugin(label: str) -> PluginConfig | None:
    """The installed plugin with app label ``label``, or None."""
    try:
        config = apps.get_app_config(label)
    except LookupError:
        return None
    return config if isinstance(config, PluginConfig) else None
