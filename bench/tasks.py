"""Benchmark: Django-Q2 enqueue -> execution latency, ORM broker and Redis broker side by side,
with a raw Redis LPUSH -> BRPOP round trip measured in the same run (issue 4).

One task at a time is enqueued (after a random pause, so the ORM broker's poll phase is
uniform) and the probe task, run by a real ``manage.py qcluster`` process, writes how long
after the enqueue it started. The raw Redis round trip uses a separate consumer process too.
Targets: Redis broker p50 <= 10 ms and p99 <= 50 ms; ORM broker p50 <= poll/2 + 20 ms.

Everything runs on a private queue (``Q_CLUSTER_NAME=bench``), so a running ``make run`` worker
neither steals nor sees the benchmark's tasks. Data: ``$ACADEMY_DATA_DIR/bench`` (SQLite) unless
``DATABASE_URL`` is set. Redis rows need ``REDIS_URL``.

Run: ``python -m bench.tasks [--tasks N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bench import ROOT, percentile, print_table

QUEUE = "bench"
WORKER_START_PATIENCE = 120.0
TASK_PATIENCE = 30.0
REDIS_P50_TARGET_MS = 10.0
REDIS_P99_TARGET_MS = 50.0
ORM_MARGIN_MS = 20.0


def probe(sent_at: float, path: str) -> None:
    """The benchmark task: record how long after ``sent_at`` (epoch seconds) it started."""
    started = time.time()
    with Path(path).open("a") as out:
        out.write(f"{started - sent_at:.6f}\n")


# --- Environment shared by the task benchmarks ------------------------------------------------


def bench_environment() -> dict[str, str]:
    """Environment for the benchmark and the processes it starts: private queue and data."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "siteconfig.settings")
    if not env.get("DATABASE_URL"):
        base = Path(env.get("ACADEMY_DATA_DIR") or ROOT / "var")
        env["ACADEMY_DATA_DIR"] = str(base / "bench")
    env.update(Q_CLUSTER_NAME=QUEUE, DJANGO_LOG_LEVEL="WARNING", ACADEMY_TASK_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


def prepare(env: dict[str, str]) -> None:
    """Migrate the benchmark database and set Django up in this process."""
    os.environ.clear()
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Any:
    """Run a command (its own process group) for the duration of the block, then stop it."""
    with log.open("ab") as out:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def wait_lines(path: Path, count: int, patience: float) -> None:
    """Wait until ``path`` has ``count`` lines (bounded; raises on a hang)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.0005)
    raise TimeoutError(f"{path} did not reach {count} lines")


def broker(name: str) -> Any:
    """A Django-Q2 broker of kind ``name`` on the benchmark queue."""
    if name == "orm":
        from django_q.brokers.orm import ORM

        return ORM(list_key=QUEUE)
    from django_q.brokers.redis_broker import Redis

    return Redis(list_key=QUEUE)


def measure_broker(name: str, tasks: int, env: dict[str, str], workdir: Path) -> list[float]:
    """Latencies (seconds) of ``tasks`` probe tasks through broker ``name`` and a real worker."""
    from django.conf import settings
    from django_q.tasks import async_task

    queue = broker(name)
    queue.purge_queue()
    results = workdir / f"latency-{name}.txt"
    results.unlink(missing_ok=True)
    worker_env = {**env, "ACADEMY_TASK_BROKER": name}
    poll = float(settings.Q_CLUSTER["poll"])  # type: ignore[arg-type]
    with running([sys.executable, "manage.py", "qcluster"], worker_env, workdir / f"worker-{name}.log"):
        warmup = 3
        for _ in range(warmup):
            async_task("bench.tasks.probe", time.time(), str(results), broker=queue, save=False)
        wait_lines(results, warmup, WORKER_START_PATIENCE)
        results.unlink()
        for done in range(tasks):
            time.sleep(random.uniform(0, poll))
            async_task("bench.tasks.probe", time.time(), str(results), broker=queue, save=False)
            wait_lines(results, done + 1, TASK_PATIENCE)
    queue.purge_queue()
    return [float(line) for line in results.read_text().split()]


def _raw_consumer(url: str, key: str, reply: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    while True:
        _, payload = client.brpop([key])
        if payload == b"stop":
            return
        client.lpush(reply, f"{time.time() - float(payload):.6f}")


def measure_raw_redis(url: str, count: int) -> list[float]:
    """Latencies (seconds) of LPUSH -> BRPOP between this process and a consumer process."""
    import redis

    key, reply = f"{QUEUE}:raw:{os.getpid()}", f"{QUEUE}:raw-reply:{os.getpid()}"
    client = redis.Redis.from_url(url)
    client.delete(key, reply)
    consumer = multiprocessing.get_context("spawn").Process(target=_raw_consumer, args=(url, key, reply), daemon=True)
    consumer.start()
    try:
        latencies = []
        for index in range(count + 3):
            time.sleep(random.uniform(0, 0.01))
            client.lpush(key, f"{time.time():.6f}")
            _, value = client.brpop([reply], timeout=TASK_PATIENCE)
            if index >= 3:  # warm-up
                latencies.append(float(value))
        client.lpush(key, "stop")
        consumer.join(timeout=10)
        return latencies
    finally:
        if consumer.is_alive():
            consumer.kill()
        client.delete(key, reply)


def ms(seconds: float) -> str:
    """Seconds as milliseconds with two decimals."""
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    """Measure every broker available here and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.tasks", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=150, help="measured tasks per broker")
    options = parser.parse_args(argv)
    env = bench_environment()
    prepare(env)
    from django.conf import settings

    workdir = Path(env.get("ACADEMY_DATA_DIR") or ROOT / "var" / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    poll_ms = float(settings.Q_CLUSTER["poll"]) * 1000  # type: ignore[arg-type]
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    rows: list[list[object]] = []
    failed = False

    orm = measure_broker("orm", options.tasks, env, workdir)
    orm_target = poll_ms / 2 + ORM_MARGIN_MS
    orm_ok = percentile(orm, 50) * 1000 <= orm_target
    failed |= not orm_ok
    rows.append([f"Django-Q2 ORM broker ({database}, poll {poll_ms:.0f} ms)", len(orm), ms(percentile(orm, 50)),
                 ms(percentile(orm, 99)), f"p50 <= {orm_target:.0f} ms", "yes" if orm_ok else "NO"])
    if settings.REDIS_URL:
        redis_latencies = measure_broker("redis", options.tasks, env, workdir)
        p50, p99 = percentile(redis_latencies, 50) * 1000, percentile(redis_latencies, 99) * 1000
        redis_ok = p50 <= REDIS_P50_TARGET_MS and p99 <= REDIS_P99_TARGET_MS
        failed |= not redis_ok
        rows.append(["Django-Q2 Redis broker", len(redis_latencies), ms(p50 / 1000), ms(p99 / 1000),
                     f"p50 <= {REDIS_P50_TARGET_MS:.0f} ms, p99 <= {REDIS_P99_TARGET_MS:.0f} ms",
                     "yes" if redis_ok else "NO"])
        raw = measure_raw_redis(settings.REDIS_URL, options.tasks)
        rows.append(["raw Redis LPUSH -> BRPOP (floor)", len(raw), ms(percentile(raw, 50)), ms(percentile(raw, 99)),
                     "-", "-"])
        rows.append(["Redis broker p50 / raw Redis p50", "", f"{percentile(redis_latencies, 50) / percentile(raw, 50):.1f}x",
                     "", "", ""])
    else:
        rows.append(["Django-Q2 Redis broker", 0, "-", "-", "needs REDIS_URL", "skipped"])
    print_table(
        "Task enqueue -> execution latency (one task in flight, real qcluster worker, loopback)",
        ["measure", "n", "p50", "p99", "target", "met"],
        rows,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
