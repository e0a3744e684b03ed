"""``python -m bench [name ...]``: run every benchmark module (or the named ones), each in its
own process, and print their tables. Exit status 1 when any benchmark failed.

A benchmark module is ``bench/<name>.py`` defining ``main(argv: list[str] | None = None) -> int``;
adding one needs no change here. Arguments after ``--`` are passed to every benchmark's main.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import time

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


def run(argv: list[str]) -> int:
    """Run the selected benchmarks one after the other; report which failed."""
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
    for name in selected or available:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}", *extra], cwd=bench.ROOT)
        print(f"=== bench.{name}: exit {code} after {time.monotonic() - started:.0f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
