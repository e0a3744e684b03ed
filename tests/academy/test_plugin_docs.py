"""docs/plugins.md is the SDK's reference, and its worked example is real code.

- every name of ``academy.sdk.__all__`` is documented there, and every slot with its target;
- every Python block compiles, and every name it imports from ``academy.sdk`` exists;
- every block marked ``<!-- example: <file> -->`` is an excerpt, verbatim, of that file in the
  plugin ``startplugin cheers --with form,admin,api,live,lesson-kind`` writes (whose own tests
  ``test_startplugin.py`` runs), so the docs cannot drift from code that is tested.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command

import academy.sdk
from academy.management.commands.startplugin import OPTIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FENCE = re.compile(r"(?:<!-- example: (?P<example>\S+) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)\n```", re.S)


def blocks() -> list[tuple[str | None, str, str]]:
    """``(example file or None, language, code)`` of every fenced block of the docs."""
    return [(m["example"], m["lang"], m["code"]) for m in FENCE.finditer(DOCS.read_text())]


def test_the_docs_have_examples_of_every_generated_feature() -> None:
    examples = {example for example, _lang, _code in blocks() if example}
    assert {
        "academy_cheers/receivers.py", "academy_cheers/models.py", "academy_cheers/live.py",
        "academy_cheers/api.py", "academy_cheers/form.py", "academy_cheers/admin_views.py",
        "academy_cheers/wagtail_hooks.py", "academy_cheers/static/academy_cheers/live.js",
    } <= examples


@pytest.mark.parametrize("name", academy.sdk.__all__)
def test_every_sdk_name_is_documented(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}[`(]", DOCS.read_text()), f"docs/plugins.md does not document {name}"


@pytest.mark.parametrize("slot", sorted(academy.sdk.SLOTS))
def test_every_slot_is_in_the_slot_table_with_its_target(slot: str) -> None:
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith(f"| `{slot}` |")]
    assert len(rows) == 1 and rows[0].count("|") == 6, f"no row for {slot} in the slot table"


def test_every_python_block_compiles_and_imports_only_sdk_names() -> None:
    for example, lang, code in blocks():
        if lang != "python":
            continue
        tree = ast.parse(textwrap.dedent(code), filename=example or "docs/plugins.md")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "academy.sdk":
                missing = [alias.name for alias in node.names if alias.name not in academy.sdk.__all__]
                assert missing == [], missing


def test_the_worked_example_is_the_generated_plugin(tmp_path: Path) -> None:
    call_command("startplugin", "cheers", with_options=",".join(OPTIONS), dest=str(tmp_path), stdout=io.StringIO())
    root = tmp_path / "academy-cheers"
    checked = 0
    for example, _lang, code in blocks():
        if example is None:
            continue
        source = (root / example).read_text()
        assert code in source, f"the docs' example of {example} is not in the generated file:\n{code}"
        checked += 1
    assert checked >= 8
