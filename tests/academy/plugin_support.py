"""Install test plugin packages for a child process through real ``academy.plugins`` entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGES = Path(__file__).resolve().parent / "plugin_packages"
ROOT = Path(__file__).resolve().parents[2]


def site_with_plugins(folder: Path, *packages: str) -> Path:
    """A folder to put on PYTHONPATH that holds ``packages`` and a dist-info (METADATA and
    entry_points.txt) for each: what ``pip install`` writes, found by importlib.metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    for package in packages:
        label = package.removeprefix("academy_")
        (folder / package).symlink_to(PACKAGES / package, target_is_directory=True)
        info = folder / f"{package}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 1.0.0\n")
        (info / "entry_points.txt").write_text(f"[academy.plugins]\n{label} = {package}\n")
    return folder


def child_env(site: Path | None, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a child Academy process: embedded mode (SQLite, no Redis) in
    ``data_dir``, with ``site`` on the path."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "ACADEMY_REQUIRE_SERVICES", "PYTEST_ADDOPTS"}}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    env["ACADEMY_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], python: str = sys.executable, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``python manage.py <args>`` in a child process."""
    return subprocess.run(
        [python, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
