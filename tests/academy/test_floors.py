"""The floors hold: each package imports only packages on its own floor or below.

Bottom to top: ``academy`` (ground floor), ``courses``, ``learning``, ``realtime``, ``plugins/*``,
``siteconfig`` (wiring). Core never imports a plugin; a plugin never imports ``siteconfig``.
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ["academy", "courses", "learning", "realtime", "plugins", "siteconfig"]


def imported_top_levels(package: str) -> dict[str, set[str]]:
    """Every first-party top-level package imported by a module of ``package``, with where."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in FLOORS:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", [p for p in FLOORS if (ROOT / p).is_dir()])
def test_a_package_imports_nothing_above_its_floor(package: str) -> None:
    allowed = set(FLOORS[: FLOORS.index(package) + 1])
    above = {top: sorted(where) for top, where in imported_top_levels(package).items() if top not in allowed}
    assert above == {}

