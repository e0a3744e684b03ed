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


def slow(log_path: str, seconds: float) -> str:
    """Record the start, work for ``seconds``, record the end (a task in flight at shutdown)."""
    import time

    with Path(log_path).open("a") as log:
        log.write("start\n")
    time.sleep(seconds)
    with Path(log_path).open("a") as log:
        log.write("end\n")
    return "done"


def fails_with_secrets(email: str, password: str) -> None:
    """Fail with personal data in the message (what a careless task might do)."""
    raise ValueError(f"could not sign in {email}: password={password}")
