"""Rate limits shared by every process: one limiter behind every limited door.

Doors: login (siteconfig/login_limits.py), sign-up and password reset (learning/accounts.py),
WebSocket connections (realtime/consumers.py) and the API throttles (learning/api/throttling.py).

What it guarantees:
- **Sliding window.** A rule "N per W" allows a counted event when fewer than N of the same kind
  were counted in the W seconds before it, whatever the clock says (no fixed-window edge that
  lets 2N through around a boundary). A refused event is not counted, so a client that keeps
  knocking is let in again as soon as its oldest counted event leaves the window, and
  ``retry_after`` says exactly when that is.
- **Growing delays.** A rule with a ``delay`` (:meth:`Rate.with_delay`) lets its ``limit`` events
  through, then makes each further one wait a delay that doubles up to a maximum after the last
  counted one, instead of refusing until the window empties: it slows an attacker without a
  lock that anyone could hold (login, per account).
- **Costs.** One check may count several events at once (``cost``, e.g. one upload's
  invitations), all of them or none.
- **Atomic, all or nothing.** One check may cover several rules (login: the account and the
  address); either every rule has room and the event is counted in all of them, or none is
  touched. With Redis this is one Lua script, one round trip, timed by the Redis server's clock
  (processes on several machines agree). The counters live in Redis, so they are shared by every
  web process and survive their restarts; they survive a Redis restart when Redis persists
  (compose.yaml runs it with ``--appendonly yes``); a Redis that keeps nothing forgives the
  current windows when it restarts.
- **Embedded mode** (no ``REDIS_URL``): Django's file cache cannot do this (no atomic update, and
  it culls entries at random past MAX_ENTRIES, which would forget a limit), so the windows live
  in a small SQLite file in ``DATA_DIR`` (stdlib sqlite3, WAL). Each check is one ``BEGIN
  IMMEDIATE`` transaction, so it is exact across every process of the machine that shares
  ``DATA_DIR`` (web, worker, a second server), timed by that machine's clock.
- **Store down.** A check that cannot reach its store returns a decision marked ``unavailable``;
  each door decides whether that lets the event through (fail open) or refuses it (fail closed),
  and says so in ``FAIL_OPEN`` below and in the README.
- **Client address.** :func:`client_address` is the one place that says who the client is, for
  HTTP requests and WebSocket scopes alike: the socket's peer, unless ``NUM_PROXIES`` trusted
  proxies append to X-Forwarded-For, then the entry the outermost trusted proxy wrote. Entries a
  client adds itself sit further left and are never read. IPv6 clients count per /64 network
  (one subscriber's allocation), so rotating through one's own addresses does not help.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from academy.env import parse_rate
from academy.metrics import RATELIMIT_REFUSALS

logger = logging.getLogger(__name__)

# Whether a door lets the event through when the limiter's store (Redis) cannot be reached.
# Closed where the limit is the protection itself (password guessing, reset-email bombing);
# open where refusing would only take the feature down with Redis (sign-ups, live updates, API
# reads; the WebSocket's own per-connection frame limit still applies).
FAIL_OPEN: dict[str, bool] = {
    "login": False,
    "password_reset": False,
    "signup": True,
    "websocket": True,
    "api": True,
    "course_message": True,  # staff writing to their learners (learning.messaging)
    "invitations": False,  # invitation emails to unknown addresses (learning.bulk): spam if unlimited
}


def register_door(door: str, *, fail_open: bool) -> None:
    """Name a further door (a plugin's) and whether it lets events through when the store is
    down. Its rules are :class:`Limit` values the door builds with its own :class:`Rate`."""
    known = FAIL_OPEN.get(door)
    if known is not None and known != fail_open:
        raise ValueError(f"door {door!r} is already registered with fail_open={known}")
    FAIL_OPEN[door] = fail_open


# Retry-After of a refusal because the store is down: a short outage is the common case.
UNAVAILABLE_RETRY_SECONDS = 30
# A stuck Redis must not hang a request: a check gives up (unavailable) after this.
REDIS_TIMEOUT_SECONDS = 1.0
# How long a process waits for the embedded store's write lock before calling it unavailable.
LOCAL_LOCK_TIMEOUT_SECONDS = 5.0
# A growing delay stops doubling after this many steps (its maximum is reached long before).
MAX_DELAY_DOUBLINGS = 60
# Pause between attempts to set the embedded store's file up while another process does.
SETUP_RETRY_SECONDS = 0.01
_SETUP_LOCK = threading.Lock()


# --- rules and decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` counted events in any ``window`` seconds.

    With a ``delay`` (seconds) the rule is a growing delay instead of a hard limit: ``limit``
    events in the window pass freely, then each further event must come at least
    ``delay * 2 ** (n - limit)`` seconds (never more than ``max_delay``) after the last counted
    one, ``n`` being the events counted in the window. Nobody can hold such a rule shut: past
    the free events one attempt per ``max_delay`` always passes.
    """

    limit: int
    window: float
    delay: float = 0.0
    max_delay: float = 0.0

    def with_delay(self, delay: float, max_delay: float) -> Rate:
        """This rate as a growing delay after its ``limit`` free events (see the class)."""
        if delay <= 0 or max_delay < delay:
            raise ValueError("a growing delay needs 0 < delay <= max_delay")
        return Rate(self.limit, self.window, float(delay), float(max_delay))

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``Rate.parse("5/15m") == Rate(5, 900.0)`` (see :func:`academy.env.parse_rate`)."""
        return cls(*_parse_cached(text))


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> tuple[int, float]:
    return parse_rate(text)


# Rules named by the doors; their rates come from these settings (README "Rate limits").
RULE_SETTINGS: dict[str, str] = {
    "login_account_address": "RATELIMIT_LOGIN_ACCOUNT_ADDRESS",
    "login_device": "RATELIMIT_LOGIN_DEVICE",
    "login_address": "RATELIMIT_LOGIN_ADDRESS",
    "signup_address": "RATELIMIT_SIGNUP_ADDRESS",
    "reset_email": "RATELIMIT_RESET_EMAIL",
    "reset_address": "RATELIMIT_RESET_ADDRESS",
}


@dataclass(frozen=True)
class Limit:
    """One rule applied to one identity (an account, an address, a user id)."""

    rule: str
    ident: str
    rate: Rate

    @property
    def key(self) -> str:
        """The store key: rule name and a digest of the identity (no raw emails in Redis)."""
        digest = hashlib.sha256(self.ident.encode()).hexdigest()[:32]
        return f"{settings.RATELIMIT_KEY_PREFIX}:{self.rule}:{digest}"


def limit(rule: str, ident: str) -> Limit:
    """The configured rule ``rule`` (a key of RULE_SETTINGS) applied to ``ident``."""
    return Limit(rule, ident, Rate.parse(getattr(settings, RULE_SETTINGS[rule])))


@dataclass(frozen=True)
class Decision:
    """The answer to one check.

    ``allowed``: the event may proceed (and was counted, for a counting check).
    ``retry_after``: seconds until a refused event would be allowed (0 when allowed).
    ``unavailable``: the store could not be reached; ``allowed`` is then the door's fail policy.
    ``token``: the id under which the event was counted (to :func:`refund` it).
    ``cost``: how many events the check counted at once.
    """

    allowed: bool
    retry_after: float = 0.0
    unavailable: bool = False
    token: str = ""
    cost: int = 1

    @property
    def retry_after_header(self) -> str:
        """Whole seconds for the Retry-After header, at least 1."""
        return retry_after_header(self.retry_after)


def retry_after_header(seconds: float) -> str:
    """A wait as ``Retry-After`` says it: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


class LimiterUnavailable(Exception):
    """The limiter's store (Redis, or the embedded SQLite file) could not be used."""


# --- stores --------------------------------------------------------------------------------------


class Store(Protocol):
    """What a limiter store does; every method is one atomic step."""

    def check(self, limits: Sequence[Limit], *, count: bool, token: str, cost: int = 1) -> float:
        """0.0 when every limit has room for ``cost`` events (and, if ``count``, they were
        counted in all of them under ``token``); otherwise the seconds until there would be room
        (nothing counted). ``cost`` must not exceed any limit (:func:`check` sees to that)."""

    def refund(self, limits: Sequence[Limit], token: str, cost: int = 1) -> None:
        """Remove the events counted under ``token`` from these limits."""

    def forget(self, limits: Sequence[Limit]) -> None:
        """Empty these limits' windows."""

    def used(self, item: Limit) -> int:
        """How many events ``item``'s window holds now."""

    def slot_acquire(self, key: str, member: str, capacity: int, ttl: float) -> bool:
        """Hold one of ``capacity`` slots under ``key`` for ``ttl`` seconds (False when full)."""

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        """Extend (or re-take, after the store forgot it) a held slot."""

    def slot_release(self, key: str, member: str) -> None:
        """Give a slot back."""

    def slot_count(self, key: str) -> int:
        """Slots currently held under ``key``."""

    def slot_members(self, key: str) -> list[str]:
        """The members holding a slot under ``key`` now (unexpired), in no particular order."""

    def reset(self) -> None:
        """Forget every limit and slot of this prefix (tests, operators)."""


# Sliding-window log: one sorted set per limit, one member per counted event, scored by its time
# in milliseconds (Redis' own clock). KEYS: the limits. ARGV: count ("1"/"0"), token, cost, then
# (limit, window_ms, delay_ms, max_delay_ms) per key. Returns the milliseconds to wait, 0 when
# allowed. A check of cost c counts c members: the token itself when c is 1, else token#1..c.
_CHECK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[3])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[4 * i])
  local window = tonumber(ARGV[4 * i + 1])
  local delay = tonumber(ARGV[4 * i + 2])
  local max_delay = tonumber(ARGV[4 * i + 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local n = redis.call('ZCARD', key)
  local until_free = 0
  if delay > 0 then
    if n >= limit then
      -- a growing delay: the next event waits delay * 2^(n - limit) after the last one
      local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      local gap = math.min(max_delay, delay * math.pow(2, math.min(n - limit, 60)))
      until_free = tonumber(last[2]) + gap - now
    end
  elseif n + cost > limit then
    -- room appears when the (n + cost - limit)-th oldest counted event leaves the window
    local entry = redis.call('ZRANGE', key, n + cost - limit - 1, n + cost - limit - 1, 'WITHSCORES')
    until_free = tonumber(entry[2]) + window - now
  end
  if until_free > wait then wait = until_free end
end
if wait > 0 then return wait end
if ARGV[1] == '1' then
  for i, key in ipairs(KEYS) do
    if cost == 1 then
      redis.call('ZADD', key, now, ARGV[2])
    else
      for c = 1, cost do redis.call('ZADD', key, now, ARGV[2] .. '#' .. c) end
    end
    redis.call('PEXPIRE', key, tonumber(ARGV[4 * i + 1]))
  end
end
return 0
"""

# Concurrency slots: one sorted set per holder, members scored by their expiry time. ARGV:
# member, capacity, ttl_ms. Returns 1 when the member holds a slot afterwards.
_SLOT_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
"""

_SLOT_REFRESH_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""

_USED_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')
"""

_SLOT_MEMBERS_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
"""

_SLOT_COUNT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""


class RedisStore:
    """Limits in Redis: each operation is one script or one pipeline (one round trip).

    ``register_script`` sends EVALSHA and reloads the script itself after a Redis restart
    (NOSCRIPT). Connection errors are retried twice on a fresh connection, then reported as
    :class:`LimiterUnavailable`.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
            health_check_interval=30,
        )
        self._check = self.client.register_script(_CHECK_LUA)
        self._acquire = self.client.register_script(_SLOT_ACQUIRE_LUA)
        self._refresh = self.client.register_script(_SLOT_REFRESH_LUA)
        self._count = self.client.register_script(_SLOT_COUNT_LUA)
        self._members = self.client.register_script(_SLOT_MEMBERS_LUA)
        self._used = self.client.register_script(_USED_LUA)

    @contextlib.contextmanager
    def _errors(self) -> Any:
        try:
            yield
        except redis.RedisError as exc:
            raise LimiterUnavailable(f"Redis: {exc}") from exc

    def check(self, limits: Sequence[Limit], *, count: bool, token: str, cost: int = 1) -> float:
        """See :meth:`Store.check`."""
        args: list[Any] = ["1" if count else "0", token, cost]
        for item in limits:
            rate = item.rate
            args += [rate.limit, int(rate.window * 1000), int(rate.delay * 1000), int(rate.max_delay * 1000)]
        with self._errors():
            wait_ms = self._check(keys=[item.key for item in limits], args=args)
        return int(wait_ms) / 1000

    def refund(self, limits: Sequence[Limit], token: str, cost: int = 1) -> None:
        """See :meth:`Store.refund`."""
        members = [token] if cost == 1 else [f"{token}#{c}" for c in range(1, cost + 1)]
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for item in limits:
                pipe.zrem(item.key, *members)
            pipe.execute()

    def forget(self, limits: Sequence[Limit]) -> None:
        """See :meth:`Store.forget`."""
        with self._errors():
            self.client.delete(*[item.key for item in limits])

    def used(self, item: Limit) -> int:
        """See :meth:`Store.used` (Redis' clock, like the check)."""
        with self._errors():
            return int(self._used(keys=[item.key], args=[int(item.rate.window * 1000)]))

    def slot_acquire(self, key: str, member: str, capacity: int, ttl: float) -> bool:
        """See :meth:`Store.slot_acquire`."""
        with self._errors():
            return bool(self._acquire(keys=[key], args=[member, capacity, int(ttl * 1000)]))

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        """See :meth:`Store.slot_refresh`."""
        with self._errors():
            self._refresh(keys=[key], args=[member, int(ttl * 1000)])

    def slot_release(self, key: str, member: str) -> None:
        """See :meth:`Store.slot_release`."""
        with self._errors():
            self.client.zrem(key, member)

    def slot_count(self, key: str) -> int:
        """See :meth:`Store.slot_count`."""
        with self._errors():
            return int(self._count(keys=[key]))

    def slot_members(self, key: str) -> list[str]:
        """See :meth:`Store.slot_members` (Redis' clock, like the count)."""
        with self._errors():
            return [m.decode() if isinstance(m, bytes) else str(m) for m in self._members(keys=[key])]

    def reset(self) -> None:
        """See :meth:`Store.reset` (SCAN + DEL of this prefix's keys only)."""
        with self._errors():
            keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self.client.delete(*keys)


class LocalStore:
    """Limits in a SQLite file shared by the processes of one machine (embedded mode).

    Every operation is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock serialises them
    across processes and threads, so the sliding window is exact on this machine.
    """

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, token TEXT NOT NULL, at REAL NOT NULL, expires REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
    CREATE INDEX IF NOT EXISTS hits_expires ON hits (expires);
    CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL,
                                      PRIMARY KEY (key, member));
    """

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = Path(path)
        self.prefix = prefix
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=LOCAL_LOCK_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            # Switching to WAL and creating the tables can answer "database is locked" at once
            # (SQLite's busy handler does not cover them) while another thread or process does the
            # same: one at a time in this process, and retried for a bounded time across processes.
            deadline = time.monotonic() + LOCAL_LOCK_TIMEOUT_SECONDS
            with _SETUP_LOCK:
                while True:
                    try:
                        connection.execute("PRAGMA journal_mode=WAL")
                        connection.execute("PRAGMA synchronous=NORMAL")
                        connection.executescript(self._SCHEMA)
                        break
                    except sqlite3.OperationalError as exc:
                        if "locked" not in str(exc) or time.monotonic() > deadline:
                            connection.close()
                            raise
                        time.sleep(SETUP_RETRY_SECONDS)
            self._local.connection = connection
        return connection

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as exc:
            raise LimiterUnavailable(f"embedded limiter store {self.path}: {exc}") from exc
        try:
            yield connection
        except sqlite3.Error as exc:
            connection.execute("ROLLBACK")
            raise LimiterUnavailable(f"embedded limiter store {self.path}: {exc}") from exc
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")

    def check(self, limits: Sequence[Limit], *, count: bool, token: str, cost: int = 1) -> float:
        """See :meth:`Store.check` (the same rules as the Redis script)."""
        with self._transaction() as db:
            now = time.time()
            db.execute("DELETE FROM hits WHERE expires <= ?", (now,))
            wait = 0.0
            for item in limits:
                rate = item.rate
                since = now - rate.window
                (n, last) = db.execute(
                    "SELECT count(*), max(at) FROM hits WHERE key = ? AND at > ?", (item.key, since)
                ).fetchone()
                if rate.delay > 0:
                    if n >= rate.limit:
                        gap = min(rate.max_delay, rate.delay * 2 ** min(n - rate.limit, MAX_DELAY_DOUBLINGS))
                        wait = max(wait, last + gap - now)
                elif n + cost > rate.limit:
                    (at,) = db.execute(
                        "SELECT at FROM hits WHERE key = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?",
                        (item.key, since, n + cost - rate.limit - 1),
                    ).fetchone()
                    wait = max(wait, at + rate.window - now)
            if wait <= 0.0 and count:
                db.executemany(
                    "INSERT INTO hits (key, token, at, expires) VALUES (?, ?, ?, ?)",
                    [(item.key, token, now, now + item.rate.window) for item in limits for _ in range(cost)],
                )
            return max(wait, 0.0)

    def refund(self, limits: Sequence[Limit], token: str, cost: int = 1) -> None:
        """See :meth:`Store.refund`."""
        with self._transaction() as db:
            db.executemany("DELETE FROM hits WHERE key = ? AND token = ?", [(item.key, token) for item in limits])

    def forget(self, limits: Sequence[Limit]) -> None:
        """See :meth:`Store.forget`."""
        with self._transaction() as db:
            db.executemany("DELETE FROM hits WHERE key = ?", [(item.key,) for item in limits])

    def used(self, item: Limit) -> int:
        """See :meth:`Store.used`."""
        with self._transaction() as db:
            since = time.time() - item.rate.window
            (n,) = db.execute("SELECT count(*) FROM hits WHERE key = ? AND at > ?", (item.key, since)).fetchone()
            return int(n)

    def slot_acquire(self, key: str, member: str, capacity: int, ttl: float) -> bool:
        """See :meth:`Store.slot_acquire`."""
        with self._transaction() as db:
            now = time.time()
            db.execute("DELETE FROM slots WHERE expires <= ?", (now,))
            held = db.execute("SELECT 1 FROM slots WHERE key = ? AND member = ?", (key, member)).fetchone()
            (n,) = db.execute("SELECT count(*) FROM slots WHERE key = ?", (key,)).fetchone()
            if held or n < capacity:
                db.execute("INSERT OR REPLACE INTO slots (key, member, expires) VALUES (?, ?, ?)", (key, member, now + ttl))
                return True
            return False

    def slot_refresh(self, key: str, member: str, ttl: float) -> None:
        """See :meth:`Store.slot_refresh`."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO slots (key, member, expires) VALUES (?, ?, ?)", (key, member, time.time() + ttl)
            )

    def slot_release(self, key: str, member: str) -> None:
        """See :meth:`Store.slot_release`."""
        with self._transaction() as db:
            db.execute("DELETE FROM slots WHERE key = ? AND member = ?", (key, member))

    def slot_count(self, key: str) -> int:
        """See :meth:`Store.slot_count`."""
        with self._transaction() as db:
            (n,) = db.execute("SELECT count(*) FROM slots WHERE key = ? AND expires > ?", (key, time.time())).fetchone()
            return int(n)

    def slot_members(self, key: str) -> list[str]:
        """See :meth:`Store.slot_members`."""
        with self._transaction() as db:
            rows = db.execute("SELECT member FROM slots WHERE key = ? AND expires > ?", (key, time.time())).fetchall()
            return [str(member) for (member,) in rows]

    def reset(self) -> None:
        """See :meth:`Store.reset`."""
        with self._transaction() as db:
            db.execute("DELETE FROM hits WHERE key LIKE ?", (f"{self.prefix}:%",))
            db.execute("DELETE FROM slots WHERE key LIKE ?", (f"{self.prefix}:%",))


_stores: dict[tuple[str, str, str], Store] = {}
_stores_lock = threading.Lock()


def store() -> Store:
    """The store named by the settings (Redis when RATELIMIT_REDIS_URL is set), one per process."""
    url = settings.RATELIMIT_REDIS_URL
    prefix = settings.RATELIMIT_KEY_PREFIX
    path = str(settings.RATELIMIT_LOCAL_PATH)
    config = (url, prefix, "" if url else path)
    with _stores_lock:
        found = _stores.get(config)
        if found is None:
            found = RedisStore(url, prefix) if url else LocalStore(Path(path), prefix)
            _stores[config] = found
        return found


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    # Tests point the limiter elsewhere (a dead port, a private Redis): drop cached clients.
    if setting.startswith("RATELIMIT_") or setting == "REDIS_URL":
        with _stores_lock:
            _stores.clear()


setting_changed.connect(_settings_changed)


# --- the limiter's API -----------------------------------------------------------------------------


def check(limits: Sequence[Limit], *, door: str, count: bool = True, cost: int = 1) -> Decision:
    """Ask whether an event passes every limit in ``limits``, counting it in all of them if so.

    ``count=False`` only looks (is there room right now?). ``door`` names the fail policy used
    when the store is down (a key of :data:`FAIL_OPEN`). ``cost`` counts that many events at
    once, all or none (e.g. the invitations of one upload); a cost larger than a limit never
    passes (``retry_after`` is then that limit's window). One round trip to the store.
    """
    if cost < 1:
        raise ValueError("cost must be at least 1")
    too_big = [item.rate.window for item in limits if cost > item.rate.limit and not item.rate.delay]
    if too_big:
        if count:
            RATELIMIT_REFUSALS.labels(door=door).inc()
        return Decision(allowed=False, retry_after=max(too_big), cost=cost)
    token = uuid.uuid4().hex
    try:
        wait = store().check(limits, count=count, token=token, cost=cost)
    except LimiterUnavailable as exc:
        allowed = FAIL_OPEN[door]
        logger.warning("rate limiter unavailable, %s fails %s: %s", door, "open" if allowed else "closed", exc)
        if not allowed:
            RATELIMIT_REFUSALS.labels(door=door).inc()
        return Decision(allowed=allowed, retry_after=UNAVAILABLE_RETRY_SECONDS, unavailable=True, cost=cost)
    if wait > 0:
        if count:
            RATELIMIT_REFUSALS.labels(door=door).inc()
        return Decision(allowed=False, retry_after=wait, cost=cost)
    return Decision(allowed=True, token=token if count else "", cost=cost)


def refund(limits: Sequence[Limit], decision: Decision) -> None:
    """Take back an event counted by :func:`check` (e.g. a login attempt that succeeded)."""
    if not decision.token:
        return
    try:
        store().refund(limits, decision.token, decision.cost)
    except LimiterUnavailable as exc:
        logger.warning("rate limiter unavailable, refund skipped: %s", exc)


def forget(limits: Sequence[Limit]) -> None:
    """Empty these limits' windows (e.g. an account's failed logins after a success)."""
    try:
        store().forget(limits)
    except LimiterUnavailable as exc:
        logger.warning("rate limiter unavailable, forget skipped: %s", exc)


def room(item: Limit) -> int | None:
    """How many more events ``item`` lets through right now (None when the store is down)."""
    try:
        return max(0, item.rate.limit - store().used(item))
    except LimiterUnavailable as exc:
        logger.warning("rate limiter unavailable, room unknown: %s", exc)
        return None


def reset() -> None:
    """Forget every limit and slot under this site's prefix (tests and operators)."""
    store().reset()


# --- concurrent WebSockets per user ------------------------------------------------------------------


def socket_slots_key(user_id: Any) -> str:
    """The store key of a user's WebSocket slots."""
    return f"{settings.RATELIMIT_KEY_PREFIX}:sockets:{user_id}"


class SocketSlot:
    """One of a user's ``RATELIMIT_SOCKETS_PER_USER`` WebSocket slots, shared by all processes.

    A slot is an entry that expires after ``RATELIMIT_SOCKET_TTL`` seconds unless the socket's
    heartbeat renews it (every third of that), so the slots of a process that died free
    themselves within the TTL. Closing the socket gives the slot back at once.
    """

    def __init__(self, key: str, ttl: float) -> None:
        self.key = key
        self.member = uuid.uuid4().hex
        self.ttl = ttl
        self._heartbeat: asyncio.Task[None] | None = None

    @classmethod
    async def acquire(cls, user_id: Any) -> SocketSlot | None:
        """A held slot, or None when the user already has the maximum open.

        When the store is down the socket is let in (fail open) and its heartbeat takes the
        slot once the store is back, so counts are right again after an outage.
        """
        slot = cls(socket_slots_key(user_id), float(settings.RATELIMIT_SOCKET_TTL))
        try:
            held = await sync_to_async(store().slot_acquire, thread_sensitive=False)(
                slot.key, slot.member, int(settings.RATELIMIT_SOCKETS_PER_USER), slot.ttl
            )
        except LimiterUnavailable as exc:
            logger.warning("rate limiter unavailable, websocket fails open: %s", exc)
            held = FAIL_OPEN["websocket"]
        if not held:
            RATELIMIT_REFUSALS.labels(door="websocket").inc()
            return None
        slot._heartbeat = asyncio.ensure_future(slot._renew_forever())
        return slot

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await sync_to_async(store().slot_refresh, thread_sensitive=False)(self.key, self.member, self.ttl)
            except LimiterUnavailable as exc:
                logger.warning("rate limiter unavailable, socket slot not renewed: %s", exc)

    async def release(self) -> None:
        """Stop renewing and give the slot back (if the store is down, it expires by itself)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        try:
            await sync_to_async(store().slot_release, thread_sensitive=False)(self.key, self.member)
        except LimiterUnavailable as exc:
            logger.warning("rate limiter unavailable, socket slot left to expire: %s", exc)


# --- who is the client ----------------------------------------------------------------------------


def client_address(source: HttpRequest | Mapping[str, Any]) -> str:
    """The client's address as the limits count it, from a Django request or an ASGI scope.

    The socket's peer (REMOTE_ADDR / ``scope["client"]``) unless ``settings.NUM_PROXIES`` (N)
    trusted proxies stand in front: each appends the address it received the request from to
    X-Forwarded-For, so the N-th entry from the right was written by the outermost trusted proxy
    and is the client. Entries further left came from the client and are ignored; with fewer
    than N entries, or a malformed one, the request did not come through the proxies and the
    peer is used. IPv6 addresses are returned as their /64 network. "unknown" when there is no
    peer address at all (a Unix socket), so such requests share one limit.
    """
    if isinstance(source, HttpRequest):
        peer = source.META.get("REMOTE_ADDR") or ""
        forwarded = source.META.get("HTTP_X_FORWARDED_FOR") or ""
    else:
        client = source.get("client") or ("", 0)
        peer = str(client[0] or "")
        forwarded = ", ".join(
            value.decode("latin-1") for name, value in source.get("headers", []) if name.lower() == b"x-forwarded-for"
        )
    address = peer
    proxies = int(getattr(settings, "NUM_PROXIES", 0) or 0)
    if proxies > 0:
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if len(entries) >= proxies and _parse_ip(entries[-proxies]) is not None:
            address = entries[-proxies]
    parsed = _parse_ip(address)
    if parsed is None:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from ``1.2.3.4``, ``1.2.3.4:port``, ``::1`` or ``[::1]:port``; else None."""
    candidate = text.strip()
    if candidate.startswith("["):
        candidate = candidate[1:].split("]", 1)[0]
    elif candidate.count(":") == 1:
        candidate = candidate.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


# --- the refusal page ------------------------------------------------------------------------------


def wait_text(seconds: float) -> str:
    """``"3 minutes"``, ``"45 seconds"``, ``"2 hours"``: how long, for people."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def refusal_response(request: HttpRequest, decision: Decision, *, message: str) -> HttpResponse:
    """The page for a refused event: 429 (or 503 when the store is down), with Retry-After.

    ``message`` says what was refused and why, in the words of the door.
    """
    if decision.unavailable:
        status = 503
        message = "This is temporarily unavailable while a service we depend on recovers."
    else:
        status = 429
    response = render(
        request,
        "rate_limited.html",
        {"message": message, "wait": wait_text(decision.retry_after), "status": status},
        status=status,
    )
    response["Retry-After"] = decision.retry_after_header
    return response
