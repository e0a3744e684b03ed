"""Task functions for the queue-behaviour tests: they leave a line in a file per run, so the
test can count attempts across processes."""

from __future__ import annotations

from pathlib import Path


def always_fails(log_path: str) -> None:
    """Record the attempt, then fail (as a task with a permanent bug would)."""
    with Path(log_path).open("a") as log:
        log.write("attempt\n")
    raise RuntimeError("this task always fails")


def healthy(log_path: str, number: int) -> int:
    """Record that task ``number`` ran."""
    with Path(log_path).open("a") as log:
        log.write(f"healthy {number}\n")
    return number
