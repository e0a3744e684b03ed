"""Values cached under a *generation*: process memory in front of the shared cache.

Some values depend only on data that changes rarely and is invalidated as a whole: the page tree
(routes, course outlines, which pages are live: ``courses.routing``) and who holds which
permission (``academy.permissions``). Each such kind has a :class:`Generation`, an integer in the
shared cache that any change moves on (now, and again after the changing transaction commits).
A value is stored under a key that holds its generation, so it is never stale: a reader that
computed it from old data stored it under a generation nobody reads any more.

Because a key can never hold a stale value, each process also keeps the values it used in its
own memory (a bounded LRU of pickled copies: every caller gets its own objects). The profile of
a class of logged-in learners showed the web threads waiting on Redis for a quarter of their
time, a dozen round trips per page; with this, a page reads every generation in one round trip
(:func:`current`, once per request) and the values from memory.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from academy.middleware import forget_request_cached, request_cached

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long a value lives in the shared cache at most (a generation change makes it unreachable).
ENTRY_SECONDS = 3600
# The process-local copies: at most this many bytes in all, each at most this many.
LOCAL_BUDGET_BYTES = 32 * 1024 * 1024
LOCAL_MAX_BYTES = 256 * 1024
_REQUEST_KEY = "academy.generations"
# A generation that could not be read: nothing is cached under it.
UNKNOWN = -1

_registry: dict[str, Generation] = {}


class Generation:
    """One kind of data that is invalidated as a whole (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = f"academy:{name}:generation"
        _registry[name] = self

    def current(self) -> int:
        """This generation as the request first read it (all generations in one round trip)."""
        return current()[self.name]

    def bump(self) -> None:
        """The data changed: every value of this kind is stale, now and after commit."""
        self._bump()
        transaction.on_commit(self._bump, robust=True)

    def _bump(self) -> None:
        try:
            cache.incr(self.key)
        except ValueError:  # no value stored under a generation yet
            cache.add(self.key, secrets.randbelow(2**48), None)
        except Exception:
            logger.exception("%s generation not moved on: its cached values may be stale for %ss",
                             self.name, ENTRY_SECONDS)
        forget_request_cached(_REQUEST_KEY)

    def cached(
        self, name: str, variant: str, compute: Callable[[], T], kind: type,
        share: Callable[[T], bool] | None = None,
    ) -> T:
        """``compute()``'s value for ``name`` and ``variant`` under the current generation: from
        this process's memory, else the shared cache, else computed (and kept in both; only in
        this process's memory when ``share(value)`` is false). A value that is not a ``kind``
        counts as missing; a cache failure only means computing it."""
        generation = self.current()
        if generation == UNKNOWN:
            return compute()  # the shared cache is unreadable: trust nothing cached
        digest = hashlib.sha256(variant.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        key = f"academy:{name}:{generation}:{digest}"
        local = _local.get(key)
        if local is not None:
            value = pickle.loads(local)  # noqa: S301  (our own bytes, from this process's memory)
            if isinstance(value, kind):
                return value  # type: ignore[return-value]
        try:
            found = cache.get(key)
        except Exception:
            logger.warning("%s cache lookup failed", name, exc_info=True)
            found = None
        if isinstance(found, kind):
            _local.put(key, found)
            return found  # type: ignore[return-value]
        value = compute()
        if share is None or share(value):
            try:
                cache.set(key, value, ENTRY_SECONDS)
            except Exception:
                logger.warning("%s cache store failed", name, exc_info=True)
        _local.put(key, value)
        return value


def current() -> dict[str, int]:
    """Every registered generation, read in one cache round trip once per request."""
    return request_cached(_REQUEST_KEY, _read_all)


def _read_all() -> dict[str, int]:
    generations = list(_registry.values())
    try:
        found = cache.get_many([generation.key for generation in generations])
    except Exception:
        logger.warning("generations unreadable; computing without the cache", exc_info=True)
        found = {}
    values: dict[str, int] = {}
    for generation in generations:
        value = found.get(generation.key)
        if not isinstance(value, int):
            try:
                # A random start: after the shared cache is flushed, no generation repeats one
                # that a process still holds copies for.
                cache.add(generation.key, secrets.randbelow(2**48), None)
                value = cache.get(generation.key)
            except Exception:
                value = None
        values[generation.name] = value if isinstance(value, int) else UNKNOWN
    return values


def clear_local() -> None:
    """Forget this process's copies (tests that empty the shared cache call it too)."""
    _local.clear()


class _LocalCopies:
    """A thread-safe LRU of pickled values by key, bounded in bytes."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, value: Any) -> None:
        try:
            data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception:
            return
        if len(data) > LOCAL_MAX_BYTES:
            return
        with self._lock:
            previous = self._items.pop(key, None)
            self._bytes -= len(previous) if previous is not None else 0
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > LOCAL_BUDGET_BYTES:
                _old_key, old = self._items.popitem(last=False)
                self._bytes -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_local = _LocalCopies()
