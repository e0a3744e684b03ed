"""The shared limiter on its real stores (the embedded SQLite file, and Redis marked ``redis``):
sliding windows, all-or-nothing checks, slots, a dead Redis, a Redis restart, client addresses."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from academy import ratelimit
from academy.env import env_rate, parse_rate
from academy.ratelimit import Decision, Limit, Rate, client_address
from tests.academy.ratelimit_support import (
    STORES,
    PersistentRedis,
    PrivateRedis,
    dead_redis_url,
    use_store,
)


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


def _limit(ident: str = "203.0.113.7", text: str = "3/1h", rule: str = "test") -> Limit:
    return Limit(rule, ident, Rate.parse(text))


# --- rates ---------------------------------------------------------------------------------------


def test_parse_rate_reads_our_form_and_drf_form() -> None:
    assert parse_rate("5/15m") == (5, 900.0)
    assert parse_rate("20/15min") == (20, 900.0)
    assert parse_rate("10/h") == (10, 3600.0)
    assert parse_rate("100/hour") == (100, 3600.0)
    assert parse_rate("1000/day") == (1000, 86400.0)
    assert parse_rate("3/1.5s") == (3, 1.5)


@pytest.mark.parametrize("text", ["", "5", "5/", "0/h", "5/0m", "five/h", "5/15x", "-1/h"])
def test_parse_rate_refuses_malformed_rates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_a_malformed_rate_variable_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACADEMY_LIMIT_LOGIN_ACCOUNT", "lots")
    with pytest.raises(ImproperlyConfigured, match="ACADEMY_LIMIT_LOGIN_ACCOUNT: a rate looks like"):
        env_rate("ACADEMY_LIMIT_LOGIN_ACCOUNT", "5/15m")


def test_retry_after_header_is_whole_seconds_at_least_one() -> None:
    assert Decision(allowed=False, retry_after=0.2).retry_after_header == "1"
    assert Decision(allowed=False, retry_after=899.01).retry_after_header == "900"


# --- sliding windows -------------------------------------------------------------------------------


def test_limit_allows_n_then_refuses_with_the_time_until_room(store_kind: str) -> None:
    limit = _limit(text="3/1h")
    first = time.monotonic()

    decisions = [ratelimit.check([limit], door="signup") for _ in range(5)]

    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.unavailable for d in decisions] == [False] * 5
    # Room appears when the first counted event leaves the hour.
    assert 3600 - (time.monotonic() - first) - 0.01 <= decisions[3].retry_after <= 3600
    assert decisions[3].token == ""


def test_each_identity_and_rule_has_its_own_window(store_kind: str) -> None:
    for _ in range(3):
        assert ratelimit.check([_limit("a")], door="signup").allowed
    assert not ratelimit.check([_limit("a")], door="signup").allowed

    assert ratelimit.check([_limit("b")], door="signup").allowed
    assert ratelimit.check([_limit("a", rule="other")], door="signup").allowed


def test_looking_counts_nothing(store_kind: str) -> None:
    limit = _limit(text="1/1h")

    assert [ratelimit.check([limit], door="login", count=False).allowed for _ in range(3)] == [True] * 3
    assert ratelimit.check([limit], door="login").allowed
    assert not ratelimit.check([limit], door="login", count=False).allowed


def test_window_slides_refused_events_do_not_extend_it(store_kind: str) -> None:
    limit = _limit(text="2/3s")
    assert ratelimit.check([limit], door="login").allowed
    assert ratelimit.check([limit], door="login").allowed
    refused = ratelimit.check([limit], door="login")
    assert not refused.allowed
    # Knocking while refused is not counted...
    for _ in range(5):
        assert not ratelimit.check([limit], door="login").allowed

    # ...so room comes back when the counted events leave the window.
    time.sleep(refused.retry_after + 0.05)

    assert ratelimit.check([limit], door="login").allowed


def test_check_over_several_limits_is_all_or_nothing(store_kind: str) -> None:
    account = _limit("account", text="5/1h", rule="acct")
    address = _limit("address", text="2/1h", rule="addr")
    assert ratelimit.check([account, address], door="login").allowed
    assert ratelimit.check([account, address], door="login").allowed

    # The address is full: the account is not charged for the refused attempt.
    assert not ratelimit.check([account, address], door="login").allowed
    for _ in range(3):
        assert ratelimit.check([account], door="login").allowed
    assert not ratelimit.check([account], door="login").allowed


def test_refund_takes_back_one_event_and_forget_empties_a_window(store_kind: str) -> None:
    limit = _limit(text="2/1h")
    first = ratelimit.check([limit], door="login")
    ratelimit.check([limit], door="login")
    assert not ratelimit.check([limit], door="login").allowed

    ratelimit.refund([limit], first)
    assert ratelimit.check([limit], door="login").allowed
    assert not ratelimit.check([limit], door="login").allowed

    ratelimit.forget([limit])
    assert ratelimit.check([limit], door="login").allowed


def test_concurrent_checks_let_exactly_the_limit_through(store_kind: str) -> None:
    limit = _limit(text="10/1h")
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def knock() -> None:
        start.wait()
        for _ in range(5):
            allowed = ratelimit.check([limit], door="signup").allowed
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=knock) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(results), results.count(True)) == (40, 10)


# --- growing delays and costs --------------------------------------------------------------------------


def test_a_growing_delay_lets_the_free_events_through_then_doubles_up_to_its_maximum(store_kind: str) -> None:
    limit = Limit("acct", "ada", Rate.parse("2/1h").with_delay(0.4, 1.0))
    assert [ratelimit.check([limit], door="login").allowed for _ in range(2)] == [True, True]

    waits = []
    for _ in range(4):
        refused = ratelimit.check([limit], door="login")
        assert not refused.allowed
        waits.append(refused.retry_after)
        time.sleep(refused.retry_after + 0.02)
        assert ratelimit.check([limit], door="login").allowed

    # 0.4, 0.8, then the maximum (1.0) twice, each less the moment since the last counted event.
    expected = [0.4, 0.8, 1.0, 1.0]
    assert all(want - 0.15 <= got <= want for got, want in zip(waits, expected, strict=True)), waits


def test_a_growing_delay_shrinks_as_old_events_leave_its_window(store_kind: str) -> None:
    limit = Limit("acct", "ada", Rate.parse("1/1s").with_delay(5, 5))
    assert ratelimit.check([limit], door="login").allowed
    assert not ratelimit.check([limit], door="login").allowed

    time.sleep(1.05)

    assert ratelimit.check([limit], door="login").allowed


def test_a_delay_must_be_positive_and_at_most_its_maximum() -> None:
    with pytest.raises(ValueError):
        Rate.parse("5/1h").with_delay(0, 10)
    with pytest.raises(ValueError):
        Rate.parse("5/1h").with_delay(10, 5)


def test_a_check_of_several_events_counts_them_all_or_none(store_kind: str) -> None:
    limit = _limit(text="10/1h")
    first = ratelimit.check([limit], door="invitations", cost=6)
    assert (first.allowed, ratelimit.room(limit)) == (True, 4)

    refused = ratelimit.check([limit], door="invitations", cost=5)
    too_big = ratelimit.check([limit], door="invitations", cost=11)

    assert (refused.allowed, too_big.allowed) == (False, False)
    assert 3599 <= refused.retry_after <= 3600 and too_big.retry_after == 3600
    assert ratelimit.room(limit) == 4
    assert ratelimit.check([limit], door="invitations", cost=4).allowed
    assert ratelimit.room(limit) == 0
    ratelimit.refund([limit], first)
    assert ratelimit.room(limit) == 6


# --- slots ------------------------------------------------------------------------------------------


def test_slots_hold_up_to_capacity_and_free_on_release(store_kind: str) -> None:
    backend = ratelimit.store()
    key = ratelimit.socket_slots_key(42)

    assert [backend.slot_acquire(key, f"s{n}", 2, 60) for n in range(3)] == [True, True, False]
    assert backend.slot_count(key) == 2
    # Taking a slot one already holds is a renewal, not a second slot.
    assert backend.slot_acquire(key, "s0", 2, 60) is True

    backend.slot_release(key, "s0")
    assert backend.slot_count(key) == 1
    assert backend.slot_acquire(key, "s2", 2, 60) is True
    assert sorted(backend.slot_members(key)) == ["s1", "s2"]
    assert backend.slot_count(ratelimit.socket_slots_key(43)) == 0
    assert backend.slot_members(ratelimit.socket_slots_key(43)) == []


def test_slots_not_renewed_expire_and_renewed_ones_stay(store_kind: str) -> None:
    backend = ratelimit.store()
    key = ratelimit.socket_slots_key(7)
    assert backend.slot_acquire(key, "dies", 2, 2.0)
    assert backend.slot_acquire(key, "lives", 2, 2.0)
    assert not backend.slot_acquire(key, "new", 2, 2.0)

    time.sleep(1.2)
    backend.slot_refresh(key, "lives", 2.0)
    time.sleep(1.2)

    assert backend.slot_count(key) == 1
    assert backend.slot_members(key) == ["lives"]
    assert backend.slot_acquire(key, "new", 2, 2.0)


# --- store down ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("door", "allowed"), [
    ("login", False), ("password_reset", False), ("signup", True), ("websocket", True), ("api", True),
    ("invitations", False),
])
def test_dead_redis_gives_each_door_its_policy(settings: Any, door: str, allowed: bool) -> None:
    settings.RATELIMIT_REDIS_URL = dead_redis_url()

    decision = ratelimit.check([_limit()], door=door)

    assert decision == Decision(allowed=allowed, retry_after=30, unavailable=True)
    assert decision.retry_after_header == "30"


def test_unusable_local_store_is_unavailable_not_an_error(settings: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.RATELIMIT_REDIS_URL = ""
    settings.RATELIMIT_LOCAL_PATH = blocker / "ratelimit.sqlite3"

    assert ratelimit.check([_limit()], door="login") == Decision(allowed=False, retry_after=30, unavailable=True)


# --- Redis restarts ------------------------------------------------------------------------------


@pytest.mark.redis
def test_limits_hold_across_a_redis_restart_that_keeps_its_data(settings: Any, tmp_path: Path) -> None:
    server = PersistentRedis(tmp_path).start()
    try:
        settings.RATELIMIT_REDIS_URL = server.url
        limit = _limit(text="3/1h")
        assert [ratelimit.check([limit], door="login").allowed for _ in range(2)] == [True, True]

        server.stop()
        assert ratelimit.check([limit], door="login").unavailable is True
        server.start()

        # Pooled connections and the loaded script died with the server: the limiter reconnects,
        # reloads its script, and the window went on where it was.
        after = [ratelimit.check([limit], door="login") for _ in range(2)]
        assert [(d.allowed, d.unavailable) for d in after] == [(True, False), (False, False)]
    finally:
        server.stop()


@pytest.mark.redis
def test_a_redis_restart_without_persistence_forgives_the_window_and_keeps_working(
    settings: Any, tmp_path: Path
) -> None:
    server = PrivateRedis(tmp_path).start()
    try:
        settings.RATELIMIT_REDIS_URL = server.url
        limit = _limit(text="2/1h")
        assert [ratelimit.check([limit], door="login").allowed for _ in range(3)] == [True, True, False]

        server.stop()
        server.start()

        assert [ratelimit.check([limit], door="login").allowed for _ in range(3)] == [True, True, False]
    finally:
        server.stop()


# --- client address ----------------------------------------------------------------------------------

SPOOF = "6.6.6.6"


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    # No trusted proxy: the socket's peer, whatever the header says.
    (0, "203.0.113.9", None, "203.0.113.9"),
    (0, "203.0.113.9", SPOOF, "203.0.113.9"),
    # One proxy: the entry it appended (the last); what the client wrote further left is ignored.
    (1, "10.0.0.2", "198.51.100.4", "198.51.100.4"),
    (1, "10.0.0.2", f"{SPOOF}, 198.51.100.4", "198.51.100.4"),
    (1, "10.0.0.2", f"{SPOOF},1.1.1.1 , 198.51.100.4", "198.51.100.4"),
    # Two proxies: the outer one's entry is second from the right.
    (2, "10.0.0.3", f"{SPOOF}, 198.51.100.4, 10.0.0.2", "198.51.100.4"),
    # Fewer entries than proxies, or a malformed entry: the request bypassed them; the peer.
    (2, "10.0.0.3", "198.51.100.4", "10.0.0.3"),
    (1, "10.0.0.2", "", "10.0.0.2"),
    (1, "10.0.0.2", "garbage", "10.0.0.2"),
    # Ports and brackets as some proxies write them.
    (1, "10.0.0.2", "198.51.100.4:5050", "198.51.100.4"),
    (1, "10.0.0.2", "[2001:db8:1:2::5]:443", "2001:db8:1:2::/64"),
    # IPv6 counts per /64; IPv4-mapped IPv6 is the IPv4 address.
    (0, "2001:db8:aa:bb:1:2:3:4", None, "2001:db8:aa:bb::/64"),
    (0, "::ffff:198.51.100.4", None, "198.51.100.4"),
    # No peer address at all (a Unix socket): one shared bucket.
    (0, "", None, "unknown"),
])
def test_client_address_from_request_and_scope_agree(
    settings: Any, proxies: int, remote: str, forwarded: str | None, expected: str
) -> None:
    settings.NUM_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote}
    headers: list[tuple[bytes, bytes]] = [(b"host", b"127.0.0.1")]
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
        headers.append((b"x-forwarded-for", forwarded.encode()))
    request = RequestFactory().get("/", **extra)
    scope = {"type": "websocket", "client": (remote, 5000) if remote else None, "headers": headers}

    assert client_address(request) == expected
    assert client_address(scope) == expected


def test_client_address_joins_repeated_forwarded_headers_in_order(settings: Any) -> None:
    settings.NUM_PROXIES = 1
    scope = {
        "type": "websocket",
        "client": ("10.0.0.2", 5000),
        "headers": [(b"x-forwarded-for", SPOOF.encode()), (b"X-Forwarded-For", b"198.51.100.4")],
    }

    assert client_address(scope) == "198.51.100.4"
