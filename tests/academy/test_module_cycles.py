"""No import cycles between the modules of our packages (beside the floors test).

A cycle means some module runs while another is half-initialised: the import order decides
whether a name exists yet, and a harmless-looking new import elsewhere can turn it into an
``ImportError`` at start-up. The graph holds the imports that run when a module is imported:
module-level statements (inside ``try``/``if`` too), not ``if TYPE_CHECKING:`` blocks and not
imports inside functions. A function-level import is the accepted way to reach a module above
when called (the floors test still counts it as a dependency between packages); it cannot take
part in an import-time cycle, because it runs after both modules are complete.

Any import-time cycle is a failure. Counting the function-level imports as well, the cycles
that exist are listed in ``LAZY_CYCLES`` with the reason each is tolerated; a new one fails, and
so does a listed one that is gone (delete it from the list: it only shrinks).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["academy", "courses", "learning", "realtime", "plugins", "siteconfig"]
# Cycles through imports inside functions (sorted modules of each strongly connected component).
LAZY_CYCLES: dict[tuple[str, ...], str] = {
    ("academy.logging", "academy.metrics"): "logging imports metrics at import; metrics asks "
    "logging for a task's label only when it counts a task (a function-level import).",
    ("courses.lesson_kinds", "courses.models", "courses.selectors"): "page models' get_context "
    "asks the selectors (which query the models) and lesson_kinds reaches LessonPage only when "
    "called, after the app registry is ready.",
    ("learning.cohorts", "learning.services"): "cohorts' writes share the services' errors; the "
    "enrollment services ask cohorts where to place a learner only when they enroll one.",
    ("plugins.quizzes.models", "plugins.quizzes.selectors"): "the quiz page's context asks the "
    "quiz selectors, which query the quiz models.",
}


def module_name(path: Path) -> str:
    """``learning/api/views.py`` -> ``learning.api.views``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules() -> dict[str, Path]:
    """Every module of our packages (migrations left out: Django imports them on its own)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_time_statements(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run at import: the module level, through ``if``/``try``/``with``."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from import_time_statements(node.body)
            yield from import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[handler.body for handler in node.handlers]):
                yield from import_time_statements(block)
        elif isinstance(node, ast.With):
            yield from import_time_statements(node.body)


def every_statement(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, function bodies included."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def import_graph(lazy: bool = False) -> dict[str, set[str]]:
    """Module -> the first-party modules it imports at import time (``lazy``: or when called)."""
    statements = every_statement if lazy else import_time_statements
    modules = first_party_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in statements(ast.parse(path.read_text(), filename=str(path)).body):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            targets.add(base)
            # ``from package import submodule`` imports the submodule.
            targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_our_modules_and_their_imports() -> None:
    graph = import_graph()
    assert "learning.api.views" in graph
    assert "learning.access" in graph["learning.documents"]


def test_no_import_time_cycles_between_our_modules() -> None:
    assert cycles(import_graph()) == []


def test_cycles_through_lazy_imports_are_only_the_listed_ones() -> None:
    assert [tuple(cycle) for cycle in cycles(import_graph(lazy=True))] == sorted(LAZY_CYCLES)


def test_cycles_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
