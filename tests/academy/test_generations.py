"""Values cached under a generation (academy.generations): never stale, bounded in memory."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from academy import generations

pytestmark = pytest.mark.django_db


def test_a_bump_makes_the_next_read_compute_again_and_copies_are_the_callers_own() -> None:
    kind = generations.Generation("test-kind")
    calls: list[int] = []

    def compute() -> list[int]:
        calls.append(1)
        return [len(calls)]

    first = kind.cached("thing", "a", compute, list)
    again = kind.cached("thing", "a", compute, list)
    assert first == again == [1] and len(calls) == 1
    again.append(99)  # a caller's change never reaches the next caller
    assert kind.cached("thing", "a", compute, list) == [1]
    kind.bump()
    assert kind.cached("thing", "a", compute, list) == [2]
    assert kind.cached("thing", "b", compute, list) == [3]  # another variant, its own value


def test_a_value_not_shared_stays_out_of_the_shared_cache() -> None:
    kind = generations.Generation("test-private")
    kind.cached("thing", "a", lambda: ("x", None), tuple, share=lambda value: value[1] is not None)
    generations.clear_local()  # another process: only the shared cache
    calls: list[int] = []
    kind.cached("thing", "a", lambda: calls.append(1) or ("x", None), tuple)
    assert calls == [1]


def test_a_flushed_shared_cache_never_brings_back_an_old_generation(monkeypatch: Any) -> None:
    kind = generations.Generation("test-flush")
    kind.cached("thing", "a", lambda: ["old"], list)
    before = kind.current()
    cache.clear()  # Redis restarted: the generation is gone, this process still holds copies
    from academy.middleware import forget_request_cached

    forget_request_cached("academy.generations")
    assert kind.current() != before
    assert kind.cached("thing", "a", lambda: ["new"], list) == ["new"]


def test_process_copies_stay_within_their_byte_budget(monkeypatch: Any) -> None:
    monkeypatch.setattr(generations, "LOCAL_BUDGET_BYTES", 3000)
    copies = generations._LocalCopies()
    for n in range(10):
        copies.put(f"k:{n}:x", "x" * 1000)
    kept = [n for n in range(10) if copies.get(f"k:{n}:x") is not None]
    assert kept == [8, 9]  # the newest that fit; the oldest went first
