"""``startplugin``: where it writes, what ``--with`` adds, and that what it writes is clean
(ruff, the SDK floor) and passes its own tests with plain ``pytest``, touching no running site.

The generated plugin's test run is a child process (``nice``d: it migrates a fresh database),
with nothing installed: the plugin's pyproject names ``siteconfig.plugin_test_settings``.
"""

from __future__ import annotations

import io
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from academy.management.commands.startplugin import OPTIONS, Command, render_template
from tests.academy.test_sdk_floor import core_imports

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUFF = str(BIN / "ruff")


def generate(name: str, dest: Path, *options: str) -> Path:
    """Run ``startplugin name --with options --dest dest``; the package folder."""
    call_command("startplugin", name, with_options=",".join(options), dest=str(dest), stdout=io.StringIO())
    return dest / f"academy-{name.replace('_', '-')}"


def ruff(folder: Path) -> subprocess.CompletedProcess[str]:
    """``ruff check .`` in ``folder`` (each file under the closest pyproject's rules)."""
    return subprocess.run(
        ["nice", "-n", "19", RUFF, "check", "--no-cache", "."], cwd=folder, capture_output=True, text=True, timeout=120
    )


def test_blocks_of_options_not_chosen_are_left_out() -> None:
    text = "a\n# [with form]\nb\n    # [with live]\n    c\n    # [end]\n# [end]\n{# [without form] #}\nd\n{# [end] #}\ne\n"
    assert render_template(text, {"form", "live"}) == "a\nb\n    c\ne\n"
    assert render_template(text, {"form"}) == "a\nb\ne\n"
    assert render_template(text, set()) == "a\nd\ne\n"
    with pytest.raises(ValueError, match="unknown option 'forms'"):
        render_template("# [with forms]\n# [end]\n", set())
    with pytest.raises(ValueError, match="not closed"):
        render_template("/* [with live] */\nx\n", set())


def test_unknown_options_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Unknown --with option\\(s\\): forms, websocket"):
        call_command("startplugin", "typo", with_options="forms,api,websocket", dest=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_by_default_it_writes_outside_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command(stdout=io.StringIO())
    monkeypatch.chdir(ROOT / "academy")
    assert command.target("academy-x", dest=None, directory=None) == ROOT.parent / "academy-x"
    monkeypatch.chdir(tmp_path)
    assert command.target("academy-x", dest=None, directory=None) == tmp_path.resolve() / "academy-x"
    assert command.target("academy-x", dest=str(ROOT / "var"), directory=None) == ROOT / "var" / "academy-x"
    assert command.target("academy-x", dest=None, directory="here") == tmp_path.resolve() / "here"


def test_every_combination_of_options_is_ruff_clean_and_imports_core_only_through_the_sdk(tmp_path: Path) -> None:
    made = []
    for size in range(len(OPTIONS) + 1):
        for combo in itertools.combinations(OPTIONS, size):
            name = "p_" + "".join(option[:2] for option in combo) if combo else "p_none"
            made.append((generate(name, tmp_path, *combo), combo))
    result = ruff(tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    for folder, combo in made:
        package = next(folder.glob("academy_*"))
        for path in folder.rglob("*.py"):
            source = path.read_text()
            assert "[with" not in source and "[end]" not in source, path
            offending = core_imports(str(path.relative_to(tmp_path)), source, own=package.name)
            assert offending == [], (combo, offending)
        files = {path.relative_to(package).as_posix() for path in package.rglob("*") if path.is_file()}
        assert ("api.py" in files) == ("api" in combo)
        assert ("wagtail_hooks.py" in files) == ("admin" in combo)
        assert ("form.py" in files) == ("form" in combo)
        assert ("live.py" in files) == ("live" in combo)
        assert ("migrations/0002_lesson_kind.py" in files) == ("lesson-kind" in combo)


def test_inside_a_checkout_the_output_passes_the_projects_ruff(tmp_path: Path) -> None:
    """Written into a project (``--dest`` inside it), ``ruff check .`` at the project's root
    stays clean: the plugin's own pyproject carries Academy's rules and its import sections."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    generate("inside", project / "extras", *OPTIONS)
    result = ruff(project)
    assert result.returncode == 0, result.stdout[-4000:]


def test_with_every_option_its_tests_pass_with_plain_pytest_and_touch_no_running_site(tmp_path: Path) -> None:
    folder = generate("feedback", tmp_path / "work", *OPTIONS)
    # A "running site" on this machine: its data folder, with a page in its file cache.
    site = tmp_path / "site"
    (site / "cache").mkdir(parents=True)
    (site / "cache" / "page.djcache").write_bytes(b"a cached page")
    before = sorted((path.relative_to(site).as_posix(), path.stat().st_mtime_ns) for path in site.rglob("*"))
    env = {key: value for key, value in os.environ.items() if key not in {"PYTEST_ADDOPTS", "ACADEMY_REQUIRE_SERVICES"}}
    env["ACADEMY_DATA_DIR"] = str(site)  # what the developer's shell may say: ignored by the tests
    result = subprocess.run(
        ["nice", "-n", "19", str(BIN / "pytest"), "-q", "-p", "no:cacheprovider"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "22 passed" in result.stdout, result.stdout[-3000:]
    after = sorted((path.relative_to(site).as_posix(), path.stat().st_mtime_ns) for path in site.rglob("*"))
    assert after == before
    assert (site / "cache" / "page.djcache").read_bytes() == b"a cached page"


def test_its_tests_ignore_an_exported_site_settings_module_and_refuse_another_ds(tmp_path: Path) -> None:
    """A shell that exports a site's DJANGO_SETTINGS_MODULE still gets the isolated settings (the
    pyproject passes ``--ds``); an explicit ``--ds`` of the site's settings is refused."""
    folder = generate("guarded", tmp_path)
    env = {key: value for key, value in os.environ.items() if key not in {"PYTEST_ADDOPTS"}}
    env["DJANGO_SETTINGS_MODULE"] = "siteconfig.settings"
    env["ACADEMY_DATA_DIR"] = str(tmp_path / "site")
    command = ["nice", "-n", "19", str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--collect-only"]
    exported = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-2000:]
    assert "10 tests collected" in exported.stdout
    refused = subprocess.run(
        [*command, "--ds", "siteconfig.settings"], cwd=folder, env=env, capture_output=True, text=True, timeout=600
    )
    assert refused.returncode != 0
    assert "Run these tests with DJANGO_SETTINGS_MODULE=siteconfig.plugin_test_settings" in refused.stderr + refused.stdout
