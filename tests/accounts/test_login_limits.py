"""Login limits on every login form (/accounts/login/, Wagtail's /admin/login/, Django's
/django-admin/login/): a lockout page with 429 and Retry-After that ends after its window, per
(account, address) pair and per client address, a growing delay per account, not dodged or
misdirected by X-Forwarded-For; fail closed. The classroom, the known devices and the delays
in detail: test_login_classroom.py."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.academy.ratelimit_support import STORES, dead_redis_url, use_store

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"
LOGIN_URLS = ["/accounts/login/", "/admin/login/", "/django-admin/login/"]
LOCKOUT_TEXT = "Too many failed sign-in attempts for this account or from your network."


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Dozens of password checks per test: a fast hasher (these tests are about counting).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


def _user(username: str = "ada", **extra: Any) -> Any:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


def _login(client: Client, url: str, username: str, password: str, **meta: str) -> Any:
    return client.post(url, {"username": username, "password": password}, **meta)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_login_after_five_failures_refuses_even_the_right_password_with_a_429(
    store_kind: str, client: Client, url: str
) -> None:
    _user("ada", is_staff=True, is_superuser=True)
    first = time.monotonic()

    failures = [_login(client, url, "ada", "wrong-password").status_code for _ in range(5)]
    locked = _login(client, url, "ada", PASSWORD)

    assert failures == [200] * 5
    assert locked.status_code == 429
    # Until the first failure leaves the 15 minutes (however long the requests took).
    assert 900 - (time.monotonic() - first) - 1 <= int(locked["Retry-After"]) <= 900
    html = locked.content.decode()
    assert LOCKOUT_TEXT in html
    assert "Please try again in 15 minutes." in html
    assert not _logged_in(client)
    # The form itself still shows (a GET is no attempt).
    assert client.get(url).status_code == 200


def test_lockout_ends_after_its_window_and_the_right_password_works(
    store_kind: str, client: Client, settings: Any
) -> None:
    # A short window (5 s: room for a slow machine between the failures and the lockout).
    settings.RATELIMIT_LOGIN_ACCOUNT_ADDRESS = "2/5s"
    _user("ada")
    assert [_login(client, "/accounts/login/", "ada", "nope").status_code for _ in range(2)] == [200, 200]
    locked = _login(client, "/accounts/login/", "ada", PASSWORD)
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 5

    time.sleep(int(locked["Retry-After"]))
    response = _login(client, "/accounts/login/", "ada", PASSWORD)

    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert _logged_in(client)


def test_a_successful_login_forgives_the_accounts_earlier_failures(store_kind: str, client: Client) -> None:
    _user("ada")
    for _ in range(4):
        _login(client, "/accounts/login/", "ada", "typo")
    assert _login(client, "/accounts/login/", "ada", PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        assert _login(client, "/accounts/login/", "ada", "typo").status_code == 200
    assert _login(client, "/accounts/login/", "ada", PASSWORD).status_code == 302


def test_the_accounts_delay_is_shared_by_every_login_form_and_every_address(
    store_kind: str, settings: Any
) -> None:
    settings.RATELIMIT_LOGIN_ACCOUNT = "5/1h"
    settings.RATELIMIT_LOGIN_DELAY = 60
    _user("ada", is_staff=True, is_superuser=True)
    for n, url in enumerate([*LOGIN_URLS, LOGIN_URLS[0], LOGIN_URLS[1], LOGIN_URLS[2]]):
        client = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        response = _login(client, url, "ADA ", "wrong")
        assert response.status_code == (200 if n < 5 else 429)
    # The sixth waits the first delay (a minute), not a lockout's window.
    assert 58 <= int(response["Retry-After"]) <= 60


def test_the_address_limit_counts_failures_over_all_usernames(
    store_kind: str, client: Client, settings: Any
) -> None:
    settings.RATELIMIT_LOGIN_ADDRESS = "3/15m"
    _user("victim")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for name in ["a", "b", "c"]:
        assert _login(attacker, "/accounts/login/", name, "guess").status_code == 200

    assert _login(attacker, "/accounts/login/", "victim", PASSWORD).status_code == 429
    # Another address is not affected, and the account itself has no failure.
    assert _login(Client(REMOTE_ADDR="203.0.113.77"), "/accounts/login/", "victim", PASSWORD).status_code == 302


def test_rotating_x_forwarded_for_does_not_dodge_the_address_limit_without_proxies(
    store_kind: str, settings: Any
) -> None:
    settings.NUM_PROXIES = 0
    settings.RATELIMIT_LOGIN_ADDRESS = "3/15m"
    _user("victim")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for n in range(3):
        _login(attacker, "/accounts/login/", f"user{n}", "guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    refused = _login(attacker, "/accounts/login/", "victim", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert refused.status_code == 429


def test_behind_one_proxy_spoofed_entries_neither_dodge_nor_lock_out_someone_else(
    store_kind: str, settings: Any
) -> None:
    settings.NUM_PROXIES = 1
    settings.RATELIMIT_LOGIN_ADDRESS = "3/15m"
    _user("victim")
    # Both come through the same proxy (10.0.0.2), which appends the address it saw.
    attacker = Client(REMOTE_ADDR="10.0.0.2")
    victim = Client(REMOTE_ADDR="10.0.0.2")
    for n in range(3):
        # The attacker writes a new address each time, and the victim's address too.
        spoofed = f"192.0.2.{n}, 203.0.113.77, 203.0.113.66"
        _login(attacker, "/accounts/login/", f"user{n}", "guess", HTTP_X_FORWARDED_FOR=spoofed)

    dodge = _login(attacker, "/accounts/login/", "x", "guess", HTTP_X_FORWARDED_FOR=f"{uuid.uuid4().hex}, 203.0.113.66")
    own = _login(victim, "/accounts/login/", "victim", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77")

    assert dodge.status_code == 429
    assert own.status_code == 302


def test_login_fails_closed_with_a_503_when_redis_is_down(client: Client, settings: Any) -> None:
    settings.RATELIMIT_REDIS_URL = dead_redis_url()
    _user("ada")

    response = _login(client, "/accounts/login/", "ada", PASSWORD)

    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert "This is temporarily unavailable" in response.content.decode()
    assert not _logged_in(client)


def test_authenticate_without_a_request_is_not_limited(store_kind: str, settings: Any) -> None:
    # Client.login() calls authenticate() with no request, as scripts and commands do.
    settings.RATELIMIT_LOGIN_ACCOUNT = "1/15m"
    _user("ada")

    assert [Client().login(username="ada", password="wrong") for _ in range(3)] == [False] * 3
    assert Client().login(username="ada", password=PASSWORD) is True


def test_a_session_made_with_the_first_backend_loads_its_user(store_kind: str, settings: Any) -> None:
    # Wagtail's page test utilities log in with AUTHENTICATION_BACKENDS[0], the limit backend.
    user = _user("ada")
    client = Client()
    client.force_login(user, settings.AUTHENTICATION_BACKENDS[0])

    assert settings.AUTHENTICATION_BACKENDS[0] == "siteconfig.login_limits.LoginRateLimitBackend"
    assert client.get("/dashboard/").status_code == 200
