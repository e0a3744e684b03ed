"""Plugins installed for real: the machinery (in a child pytest with three test plugins found
through entry points), refusal of broken and incompatible plugins, exclusion, and the
``startplugin`` scaffold from nothing to an installed, tested plugin."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from academy.plugins.discovery import candidates
from tests.academy.plugin_support import ROOT, child_env, manage, site_with_plugins


def test_the_plugin_machinery_with_three_plugins_installed_through_entry_points(tmp_path: Path) -> None:
    site = site_with_plugins(tmp_path / "site", "academy_echo", "academy_faulty", "academy_badge")
    env = child_env(site, tmp_path / "data", ACADEMY_PLUGIN_MACHINERY="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/plugin_machinery"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_broken_and_incompatible_plugins_are_refused_by_name_and_can_be_excluded(tmp_path: Path) -> None:
    site = site_with_plugins(tmp_path / "site", "academy_echo", "academy_broken", "academy_future")
    refused = manage("check", env=child_env(site, tmp_path / "data"))
    assert refused.returncode == 1
    assert "academy.E100" in refused.stderr
    assert "Plugin 'broken' was refused: could not be imported: SyntaxError" in refused.stderr
    assert "Plugin 'future' was refused: needs Academy core >= 99.0" in refused.stderr
    assert "ACADEMY_PLUGINS_EXCLUDE=broken" in refused.stderr

    excluded = manage("check", env=child_env(site, tmp_path / "data", ACADEMY_PLUGINS_EXCLUDE="broken, future"))
    assert excluded.returncode == 0, excluded.stderr
    listed = manage(
        "shell", "-c", "from academy.plugins.registry import plugins; print([p.label for p in plugins()])",
        env=child_env(site, tmp_path / "data", ACADEMY_PLUGINS_EXCLUDE="broken,future,echo"),
    )
    # Only first-party plugins (plugins/<name>/) are left: none of the excluded test packages.
    labels = set(ast.literal_eval(listed.stdout.strip().splitlines()[-1]))
    assert labels & {"echo", "broken", "future"} == set()
    assert labels == {name for name, _module in candidates(Path(ROOT) / "plugins")}


def test_startplugin_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    for bad in ["Hello", "1st", "a", "class", "my-plugin", "learning"]:
        with pytest.raises(CommandError):
            call_command("startplugin", bad, directory=str(tmp_path / bad))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("startplugin", "taken", directory=str(tmp_path / "taken"))


def test_startplugin_makes_a_plugin_that_installs_shows_up_and_passes_its_own_tests(tmp_path: Path) -> None:
    call_command("startplugin", "cheers", directory=str(tmp_path / "academy-cheers"))
    # A virtualenv of its own that sees Academy's packages, so `pip install -e` changes nothing
    # in the project's .venv.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    host = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    packages = next((venv / "lib").glob("python3*/site-packages"))
    (packages / "academy_host.pth").write_text(f"import site; site.addsitedir({str(host)!r})\n")
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "-e", str(tmp_path / "academy-cheers")],
        capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    env = child_env(None, tmp_path / "data")
    check = manage("check", env=env, python=python)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stderr
    drift = manage("makemigrations", "--check", "--dry-run", env=env, python=python)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    shown = manage(
        "shell", "-c",
        "from academy.plugins.registry import get_plugin; p = get_plugin('cheers'); "
        "from django.urls import reverse; print(p.display_name, p.version, reverse('cheers:index'))",
        env=env, python=python,
    )
    assert shown.stdout.strip().splitlines()[-1] == "Cheers 0.1.0 /p/cheers/", shown.stderr

    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path / "academy-cheers", env=env, capture_output=True, text=True, timeout=1200,
    )
    assert tests.returncode == 0, tests.stdout[-6000:] + tests.stderr[-2000:]
    assert "10 passed" in tests.stdout
