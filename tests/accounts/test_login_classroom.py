"""Login limits that stop guessing, not classes (issue 19, finding 4), through the real login form:

- a class of 200 behind one school address (NAT), each mistyping twice, then all sign in;
- the lockout counts failures per (account, address) pair, so guessing from one address stops;
- per account across addresses the delays grow instead of a lock anyone can hold;
- a device that signed in before (a signed device cookie bound to the username) keeps signing in
  while its account is under attack; its own failures are counted per device;
- the address comes through ``ACADEMY_NUM_PROXIES`` and X-Forwarded-For (ignored without proxies).

Each runs on the embedded store and on Redis.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client

from siteconfig import login_limits
from tests.academy.ratelimit_support import STORES, use_store

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"
LOGIN = "/accounts/login/"
SCHOOL = "203.0.113.10"
PROXY = "10.0.0.2"
CLASS_SIZE = 200
TYPOS_EACH = 2
User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Hundreds of password checks per test: a fast hasher (these tests are about counting).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


def _users(*names: str) -> None:
    hashed = make_password(PASSWORD)
    User.objects.bulk_create([User(username=name, email=f"{name}@example.com", password=hashed) for name in names])


def _login(client: Client, username: str, password: str, **meta: str) -> int:
    return client.post(LOGIN, {"username": username, "password": password}, **meta).status_code


def _sign_out(client: Client) -> None:
    # The logout page, as a browser does it (the test client's logout() would drop every cookie,
    # the device cookie too).
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def _logged_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


# --- the classroom ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["peer", "proxy"])
def test_a_class_of_200_behind_one_address_each_mistyping_twice_all_sign_in(
    store_kind: str, settings: Any, route: str
) -> None:
    # Directly (the school's NAT address is the peer) or through one trusted proxy that appends
    # the school's address to X-Forwarded-For.
    settings.NUM_PROXIES = 1 if route == "proxy" else 0
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": SCHOOL} if route == "proxy" else {"REMOTE_ADDR": SCHOOL}
    names = [f"learner{n:03d}" for n in range(CLASS_SIZE)]
    _users(*names)
    desks = {name: Client(**meta) for name in names}

    # The whole class types at once: everyone's first typo, everyone's second, then the password.
    typos = [[_login(desks[name], name, f"{PASSWORD}x") for name in names] for _ in range(TYPOS_EACH)]
    signed_in = [_login(desks[name], name, PASSWORD) for name in names]

    assert typos == [[200] * CLASS_SIZE] * TYPOS_EACH
    assert signed_in == [302] * CLASS_SIZE
    assert [_logged_in_as(desks[name]) for name in names] == names


# --- per (account, address) ------------------------------------------------------------------------------


def test_guessing_one_account_from_one_address_is_locked_for_that_pair_only(store_kind: str) -> None:
    _users("ada", "bob")
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    first = time.monotonic()

    guesses = [_login(attacker, "ada", f"guess{n}") for n in range(5)]
    refused = attacker.post(LOGIN, {"username": "ada", "password": PASSWORD})

    assert guesses == [200] * 5
    # Even the right password waits: the pair is locked for the 15 minutes of its window.
    assert refused.status_code == 429
    assert 900 - (time.monotonic() - first) - 1 <= int(refused["Retry-After"]) <= 900
    # The attacker's address may still sign in to another account, and ada from elsewhere.
    assert _login(Client(REMOTE_ADDR="198.51.100.66"), "bob", PASSWORD) == 302
    owner = Client(REMOTE_ADDR="192.0.2.33")
    assert _login(owner, "ada", PASSWORD) == 302
    assert _logged_in_as(owner) == "ada"


def test_behind_one_proxy_the_forwarded_address_is_the_one_locked(store_kind: str, settings: Any) -> None:
    settings.NUM_PROXIES = 1
    _users("ada")
    attacker = Client(REMOTE_ADDR=PROXY)
    for n in range(5):
        _login(attacker, "ada", f"guess{n}", HTTP_X_FORWARDED_FOR="198.51.100.66")

    locked = _login(attacker, "ada", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.66")
    # The same proxy, another client behind it: its own pair, not locked.
    owner = Client(REMOTE_ADDR=PROXY)
    own = _login(owner, "ada", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.33")

    assert (locked, own) == (429, 302)


def test_without_proxies_a_rotated_forwarded_for_does_not_dodge_the_pair_lockout(
    store_kind: str, settings: Any
) -> None:
    settings.NUM_PROXIES = 0
    _users("ada")
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    guesses = [_login(attacker, "ada", f"guess{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(6)]

    assert guesses == [200] * 5 + [429]


# --- per account across addresses: growing delays, and the owner's known device --------------------------


def test_guesses_from_many_addresses_meet_growing_delays_not_a_lock(store_kind: str, settings: Any) -> None:
    settings.RATELIMIT_LOGIN_ACCOUNT = "4/1h"
    settings.RATELIMIT_LOGIN_DELAY = 1
    settings.RATELIMIT_LOGIN_DELAY_MAX = 2
    _users("ada")
    statuses = [_login(Client(REMOTE_ADDR=f"198.51.100.{n}"), "ada", "guess") for n in range(4)]
    assert statuses == [200] * 4

    # Past the free failures, each attempt waits for a delay that doubles, up to the maximum.
    waits = []
    for n in range(3):
        refused = Client(REMOTE_ADDR=f"198.51.100.{50 + n}").post(LOGIN, {"username": "ada", "password": "guess"})
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        time.sleep(float(refused["Retry-After"]))
        assert _login(Client(REMOTE_ADDR=f"198.51.100.{100 + n}"), "ada", "guess") == 200

    assert waits == [1, 2, 2]


def test_an_attack_on_the_account_does_not_lock_out_the_owners_known_device(store_kind: str, settings: Any) -> None:
    # The default 10 free failures per hour; a first delay long enough to outlast this test.
    settings.RATELIMIT_LOGIN_DELAY = 60
    _users("ada")
    laptop = Client(REMOTE_ADDR="192.0.2.33")
    assert _login(laptop, "ada", PASSWORD) == 302
    _sign_out(laptop)

    # An attacker knows the username and guesses from 40 addresses, 3 each.
    attack = [_login(Client(REMOTE_ADDR=f"198.51.100.{n}"), "ada", f"guess{m}") for n in range(40) for m in range(3)]
    # A new device (no cookie) meets the account's delay even with the right password...
    stranger = _login(Client(REMOTE_ADDR="192.0.2.99"), "ada", PASSWORD)
    # ...but the laptop that signed in before gets in, from home or from a café.
    at_home = _login(laptop, "ada", PASSWORD)
    _sign_out(laptop)
    at_cafe = _login(laptop, "ada", PASSWORD, REMOTE_ADDR="192.0.2.200")

    assert attack.count(200) == 10 and attack.count(429) == 110
    assert stranger == 429
    assert (at_home, at_cafe) == (302, 302)
    assert _logged_in_as(laptop) == "ada"


def test_a_known_device_counts_its_own_failures_and_locks_only_itself(store_kind: str) -> None:
    _users("ada")
    laptop, phone = Client(REMOTE_ADDR="192.0.2.33"), Client(REMOTE_ADDR="192.0.2.33")
    for device in (laptop, phone):
        assert _login(device, "ada", PASSWORD) == 302
        _sign_out(device)

    typos = [_login(laptop, "ada", "typo") for _ in range(5)]
    locked = _login(laptop, "ada", PASSWORD)

    assert typos == [200] * 5
    assert locked == 429
    # The phone, on the same address, is another device: it signs in.
    assert _login(phone, "ada", PASSWORD) == 302


def test_the_device_cookie_is_bound_to_its_username_and_signed(store_kind: str, settings: Any) -> None:
    settings.RATELIMIT_LOGIN_ACCOUNT = "3/1h"
    settings.RATELIMIT_LOGIN_DELAY = 60
    _users("ada", "bob")
    shared = Client(REMOTE_ADDR="192.0.2.33")
    assert _login(shared, "ada", PASSWORD) == 302
    _sign_out(shared)
    cookie = shared.cookies[login_limits.DEVICE_COOKIE].value
    for n in range(3):
        _login(Client(REMOTE_ADDR=f"198.51.100.{n}"), "bob", "guess")

    # ada's device is no known device for bob: it meets bob's delay.
    assert _login(shared, "bob", PASSWORD) == 429
    # A cookie changed by hand is no device cookie at all.
    forged = Client(REMOTE_ADDR="192.0.2.33")
    forged.cookies[login_limits.DEVICE_COOKIE] = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    for n in range(3):
        _login(Client(REMOTE_ADDR=f"198.51.100.{10 + n}"), "ada", "guess")
    assert _login(forged, "ada", PASSWORD) == 429
    assert _login(shared, "ada", PASSWORD) == 302


def test_a_shared_computer_remembers_each_learner_who_signed_in_on_it(store_kind: str, settings: Any) -> None:
    settings.RATELIMIT_LOGIN_ACCOUNT = "3/1h"
    settings.RATELIMIT_LOGIN_DELAY = 60
    _users("ada", "bob")
    desk = Client(REMOTE_ADDR=SCHOOL)
    for name in ("ada", "bob"):
        assert _login(desk, name, PASSWORD) == 302
        _sign_out(desk)
    for name in ("ada", "bob"):
        for n in range(3):
            _login(Client(REMOTE_ADDR=f"198.51.100.{n}"), name, "guess")

    assert [_login(desk, name, PASSWORD) for name in ("ada", "bob")] == [302, 302]
