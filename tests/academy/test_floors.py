"""The floors hold: each package imports only packages on its own floor or below.

Bottom to top: ``academy`` (ground floor), ``courses``, ``learning``, ``realtime``, ``academy.sdk``
(the plugins' one door into core: it re-exports from every floor below), ``plugins/*``,
``siteconfig`` (wiring). Core never imports a plugin; a plugin never imports ``siteconfig``
(and reaches core only through ``academy.sdk``: ``test_sdk_floor.py``).
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ["academy", "courses", "learning", "realtime", "academy.sdk", "plugins", "siteconfig"]
# A floor that lives inside another package's folder (the rest of that folder is the outer floor).
NESTED = {"academy.sdk": "academy"}


def floor_of(module: str) -> str:
    """The floor of a dotted module name (``academy.sdk._access`` -> ``academy.sdk``)."""
    for nested in NESTED:
        if module == nested or module.startswith(f"{nested}."):
            return nested
    return module.split(".")[0]


def imported_top_levels(package: str) -> dict[str, set[str]]:
    """Every first-party top-level package imported by a module of ``package``, with where."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / Path(*package.split("."))).rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if "migrations" in path.parts or floor_of(module) != package:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = floor_of(name)
                if top in FLOORS:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", [p for p in FLOORS if (ROOT / Path(*p.split("."))).is_dir()])
def test_a_package_imports_nothing_above_its_floor(package: str) -> None:
    allowed = set(FLOORS[: FLOORS.index(package) + 1])
    above = {top: sorted(where) for top, where in imported_top_levels(package).items() if top not in allowed}
    assert above == {}

