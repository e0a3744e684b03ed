"""``python -m bench [name ...]``: run every benchmark module (or the named ones), each in its
own process, and print their tables. Exit status 1 when any benchmark failed.

A benchmark module is ``bench/<name>.py`` defining ``main(argv: list[str] | None = None) -> int``;
adding one needs no change here. Arguments after ``--`` are passed to every benchmark's main;
``--save`` also writes the whole output to ``bench/results/<date>.md``. Modules whose name starts
with ``_`` are helpers (settings, the load generator) and are never imported here.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

import bench


def discover() -> list[str]:
    """Names of the modules of this package that define a benchmark ``main(argv)``."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        main = getattr(module, "main", None)
        if callable(main) and not inspect.iscoroutinefunction(main):
            parameters = list(inspect.signature(main).parameters)
            if parameters[:1] == ["argv"]:
                names.append(info.name)
    return sorted(names)


def run_one(name: str, extra: list[str], transcript: list[str] | None) -> int:
    """Run ``bench.<name>`` in its own process; echo (and, with a transcript, keep) its output."""
    command = [sys.executable, "-m", f"bench.{name}", *extra]
    if transcript is None:
        return subprocess.call(command, cwd=bench.ROOT)
    with subprocess.Popen(command, cwd=bench.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            transcript.append(line)
    return child.returncode


def save(transcript: list[str]) -> Path:
    """Write the run's output to ``bench/results/<date>.md``."""
    results = bench.ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=bench.ROOT, capture_output=True,
                            text=True).stdout.strip()
    path = results / f"{now:%Y-%m-%d}.md"
    header = f"# Benchmarks, {now:%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}\n\n```\n"
    path.write_text(header + "".join(transcript) + "```\n")
    return path


def run(argv: list[str]) -> int:
    """Run the selected benchmarks one after the other; report which failed."""
    keep = "--save" in argv
    argv = [arg for arg in argv if arg != "--save"]
    if "--" in argv:
        split = argv.index("--")
        selected, extra = argv[:split], argv[split + 1 :]
    else:
        selected, extra = argv, []
    available = discover()
    unknown = sorted(set(selected) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    failed = []
    transcript: list[str] | None = [] if keep else None
    for name in selected or available:
        banner = f"\n=== bench.{name} ===\n"
        print(banner, end="", flush=True)
        if transcript is not None:
            transcript.append(banner)
        started = time.monotonic()
        code = run_one(name, extra, transcript)
        footer = f"=== bench.{name}: exit {code} after {time.monotonic() - started:.0f} s ===\n"
        print(footer, end="", flush=True)
        if transcript is not None:
            transcript.append(footer)
        if code != 0:
            failed.append(name)
    if transcript is not None:
        print(f"\nsaved to {save(transcript)}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
