"""Settings for running one plugin's own tests against this Academy, isolated from any site.

A plugin made with ``manage.py startplugin`` names this module in its pyproject.toml
(``DJANGO_SETTINGS_MODULE = "siteconfig.plugin_test_settings"``), so ``pytest`` in the plugin's
folder runs against the Academy installed in the same virtualenv, and touches nothing of a site
running on the same machine, whatever the environment says:

- the data folder (SQLite database and test database, rate-limit store, uploads, the live
  relay's bell, collected static files) is a fresh temporary directory, removed at exit;
- the cache is in-memory: a test never reads, fills or clears a running site's cache (tests that
  wrote into the dev site's file cache left it serving ``href="None"`` links: issue 21);
- ``DATABASE_URL``, ``REDIS_URL`` and ``SENTRY_DSN`` are ignored: the run is embedded.

The plugin under test need not be installed: every folder on ``sys.path`` with a pyproject.toml
that declares an ``academy.plugins`` entry point (pytest's ``pythonpath = ["."]`` puts the
plugin's own folder there) is added like a discovered plugin, unless it already is (``pip
install -e``). A plugin discovery refuses stops the run with the reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_DATA_DIR = Path(tempfile.mkdtemp(prefix="academy-plugin-tests-"))
atexit.register(shutil.rmtree, _DATA_DIR, True)
os.environ["ACADEMY_DATA_DIR"] = str(_DATA_DIR)
for _variable in ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "ACADEMY_MEDIA_ROOT"):
    os.environ.pop(_variable, None)

from academy import __version__  # noqa: E402
from academy.plugins.discovery import ENTRY_POINT_GROUP, Refusal, inspect_plugin  # noqa: E402
from siteconfig.settings import *  # noqa: E402, F403
from siteconfig.settings import INSTALLED_APPS  # noqa: E402

#: Set only here: the plugin's conftest refuses to run under any other settings.
ACADEMY_PLUGIN_TEST_RUN = True

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "academy-plugin-tests"}
}


def plugins_on_path(paths: list[str]) -> list[tuple[str, str]]:
    """``(entry-point name, module)`` of the ``academy.plugins`` entry points declared by the
    pyproject.toml of each folder in ``paths``."""
    found: list[tuple[str, str]] = []
    for entry in paths:
        pyproject = Path(entry or ".") / "pyproject.toml"
        try:
            data = tomllib.loads(pyproject.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        points = data.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        found += [(name, str(value).split(":")[0].strip()) for name, value in points.items()]
    return found


_position = INSTALLED_APPS.index("realtime") + 1
for _name, _module in plugins_on_path(sys.path):
    if any(app == _module or app.startswith(f"{_module}.") for app in INSTALLED_APPS):
        continue  # installed, and discovered through its entry point already
    _outcome = inspect_plugin(_name, _module, core_version=__version__)
    if isinstance(_outcome, Refusal):
        raise ImproperlyConfigured(f"Plugin {_name!r} was refused: {_outcome.reason}")
    INSTALLED_APPS.insert(_position, _outcome[0])
    _position += 1
