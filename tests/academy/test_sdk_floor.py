"""The SDK floor: a plugin imports core only through ``academy.sdk``, and ``academy.sdk`` keeps its
promise (every public name resolves, is documented, and is core's own object).

The floor is checked on the source (``ast``), for every plugin package in ``plugins/`` (a folder
with an ``apps.py``) and for the ``startplugin`` scaffold's templates, imports inside functions
included: a lazy import of ``learning.access`` is still a dependency on core internals. Django,
Wagtail, DRF, Channels and the plugin's own modules are free.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import academy.sdk
from academy.plugins.discovery import candidates

ROOT = Path(__file__).resolve().parents[2]
SCAFFOLD = ROOT / "academy" / "plugins" / "scaffold"
#: Core's top-level packages: a plugin reaches them only as ``academy.sdk``.
CORE = {"academy", "courses", "learning", "realtime", "siteconfig", "plugins"}
SDK = "academy.sdk"


def core_imports(where: str, source: str, *, own: str) -> list[str]:
    """``where:line: imports module`` for every import of core outside ``academy.sdk`` in
    ``source`` (``own`` is the plugin's own package, e.g. ``plugins.quizzes``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=where)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue  # relative imports stay inside the plugin
        for module in modules:
            if module in (SDK, own) or module.startswith(f"{own}."):
                continue
            if module.split(".")[0] in CORE:
                found.append(f"{where}:{node.lineno}: imports {module}")
    return found


def plugin_sources() -> list[tuple[Path, str, str]]:
    """``(path, source, own package)`` of every module of every first-party plugin."""
    found = []
    for _name, module in candidates(ROOT / "plugins"):
        folder = ROOT / Path(*module.split("."))
        for path in sorted(folder.rglob("*.py")):
            found.append((path, path.read_text(), module))
    return found


def scaffold_sources() -> list[tuple[Path, str, str]]:
    """The scaffold's Python templates, with the placeholders filled as ``startplugin`` does."""
    found = []
    for path in sorted(SCAFFOLD.rglob("*.py-tpl")):
        text = path.read_text().replace("__PACKAGE__", "academy_example").replace("__LABEL__", "example")
        text = text.replace("__CLASS__", "Example")
        text = re.sub(r"__[A-Z]+__", "x", text)
        found.append((path, text, "academy_example"))
    return found


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_floor_sees_both_first_party_plugins_and_the_scaffold() -> None:
    packages = {own for _path, _source, own in plugin_sources()}
    assert {"plugins.certificates", "plugins.quizzes"} <= packages
    assert any(path.name == "apps.py-tpl" for path, _source, _own in scaffold_sources())


def test_first_party_plugins_import_core_only_through_the_sdk() -> None:
    offending = [
        line for path, source, own in plugin_sources() for line in core_imports(_where(path), source, own=own)
    ]
    assert offending == []


def test_the_scaffold_imports_core_only_through_the_sdk() -> None:
    offending = [
        line for path, source, own in scaffold_sources() for line in core_imports(_where(path), source, own=own)
    ]
    assert offending == []


def test_the_floor_names_file_and_line_of_an_import_of_core_internals() -> None:
    source = "from academy.sdk import viewer\n\n\ndef f():\n    from learning import access\n    import realtime.groups\n"
    path = "plugins/example/views.py"
    assert core_imports(path, source, own="plugins.example") == [
        "plugins/example/views.py:5: imports learning",
        "plugins/example/views.py:6: imports realtime.groups",
    ]
    assert core_imports(path, "from plugins.example.models import X\nfrom . import y\n", own="plugins.example") == []
    assert core_imports(path, "from academy.sdk.testing import build_world\n", own="plugins.example") == [
        "plugins/example/views.py:1: imports academy.sdk.testing"
    ]


# --- The SDK keeps its promise ---------------------------------------------------------------------


def _own_doc(value: object) -> str:
    if inspect.isclass(value):
        return (value.__dict__.get("__doc__") or "").strip()
    return (getattr(value, "__doc__", None) or "").strip()


@pytest.mark.parametrize("name", academy.sdk.__all__)
def test_every_sdk_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(academy.sdk, name)
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismethod(value):
        assert _own_doc(value), f"academy.sdk.{name} has no docstring of its own"
    else:
        assert academy.sdk.VALUE_DOCS.get(name, "").strip() or name in {"DEPRECATED", "VALUE_DOCS"}, (
            f"academy.sdk.{name} is a value: describe it in academy.sdk.VALUE_DOCS"
        )


def test_every_sdk_name_is_core_own_object_not_a_copy() -> None:
    """The facade re-exports: each name is the very object its core home defines."""
    homes = {
        "lesson_access": "learning.access", "staff_course_filter": "learning.access",
        "may_see_learners": "learning.access", "ProgressData": "learning.progress",
        "lesson_completed": "learning.events", "publish": "realtime.publish",
        "SlotFragment": "academy.plugins.slots", "enqueue": "academy.tasks",
        "ScheduledTask": "academy.schedules", "PluginConfig": "academy.plugins.registry",
        "LessonPage": "courses.models", "register_door": "academy.ratelimit",
    }
    import importlib

    for name, home in homes.items():
        assert getattr(academy.sdk, name) is getattr(importlib.import_module(home), name), name
    assert academy.sdk.course_group is importlib.import_module("realtime.groups").course
    assert academy.sdk.check_limits is importlib.import_module("academy.ratelimit").check


def test_sdk_version_is_the_core_version_and_all_is_complete() -> None:
    assert academy.__version__ == academy.sdk.SDK_VERSION
    assert len(set(academy.sdk.__all__)) == len(academy.sdk.__all__)
    assert set(academy.sdk.__all__) == {*academy.sdk._HOMES, "DEPRECATED", "SDK_VERSION", "VALUE_DOCS"}
    assert set(dir(academy.sdk)) == set(academy.sdk.__all__)


def test_each_private_home_exports_exactly_the_names_mapped_to_it() -> None:
    import importlib

    by_home: dict[str, set[str]] = {}
    for name, home in academy.sdk._HOMES.items():
        by_home.setdefault(home, set()).add(name)
    for home, names in by_home.items():
        module = importlib.import_module(f"academy.sdk.{home}")
        assert set(module.__all__) == names, home


def test_type_checkers_see_every_name() -> None:
    """The ``if TYPE_CHECKING:`` imports of ``academy/sdk/__init__.py`` list every name."""
    tree = ast.parse((ROOT / "academy" / "sdk" / "__init__.py").read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    seen = {alias.name for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert seen == set(academy.sdk._HOMES)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lesson_acess'"):
        academy.sdk.lesson_acess


def test_a_deprecated_name_warns_and_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(academy.sdk.DEPRECATED, "old_viewer", ("viewer", "0.2", "0.3"))
    with pytest.warns(DeprecationWarning, match=r"academy.sdk.old_viewer is deprecated since 0.2 and removed in 0.3: use viewer"):
        assert academy.sdk.old_viewer is academy.sdk.viewer


def test_the_old_home_of_the_contract_kit_warns_and_still_answers() -> None:
    import importlib
    import sys

    sys.modules.pop("plugins.testing", None)
    with pytest.warns(DeprecationWarning, match="plugins.testing is deprecated since Academy 0.2"):
        old = importlib.import_module("plugins.testing")
    assert old.PluginContract is academy.sdk.PluginContract
