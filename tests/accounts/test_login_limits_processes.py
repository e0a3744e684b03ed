"""Two real web processes (uvicorn) share one login limit: N failures allowed in total across
both, whatever X-Forwarded-For each request carries (embedded store, and Redis marked)."""

from __future__ import annotations

import http.cookiejar
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from tests.academy.ratelimit_support import STORES
from tests.realtime.support import PATIENCE, Uvicorn

PASSWORD = "correct-horse-battery-9"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects (stdlib only)."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def csrf(self, base: str) -> str:
        """GET the login page once: Django sets the CSRF cookie the form posts back."""
        self.request("GET", f"{base}/accounts/login/")
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def request(self, method: str, url: str, data: dict[str, str] | None = None, **headers: str) -> tuple[int, Any]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=PATIENCE) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers


@pytest.mark.parametrize("mode", STORES)
def test_two_web_processes_share_one_login_limit_and_rotated_forwarded_for_does_not_help(
    transactional_db: None, settings: Any, mode: str, tmp_path: Path
) -> None:
    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings.RATELIMIT_KEY_PREFIX = f"{prefix}:rl"
    env = {
        "ACADEMY_CACHE_PREFIX": prefix,
        "ACADEMY_LIMIT_LOGIN_ACCOUNT_ADDRESS": "4/15m",
        "ACADEMY_LIMIT_LOGIN_ADDRESS": "6/15m",
        "REDIS_URL": django_settings.REDIS_URL if mode == "redis" else "",
    }
    settings.RATELIMIT_REDIS_URL = env["REDIS_URL"]
    servers = [Uvicorn(tmp_path / f"web{n}.log", **env).start() for n in range(2)]
    try:
        browser = Browser()
        token = browser.csrf(servers[0].url)

        def login(n: int, username: str, password: str) -> tuple[int, Any]:
            # Alternate between the two processes; every request claims a new address.
            return browser.request(
                "POST", f"{servers[n % 2].url}/accounts/login/",
                {"username": username, "password": password, "csrfmiddlewaretoken": token},
                **{"X-Forwarded-For": f"192.0.2.{n}", "Referer": f"{servers[n % 2].url}/accounts/login/"},
            )

        # The account from this address: 4 failures in total across both processes, then
        # locked on both (X-Forwarded-For is not read: no trusted proxies).
        first_failure = time.monotonic()
        account = [login(n, "ada", "wrong")[0] for n in range(6)]
        status, headers = login(6, "ada", PASSWORD)
        # The address: 6 failures in total (4 above count too), whatever the usernames.
        address = [login(n, f"user{n}", "wrong")[0] for n in range(7, 10)]

        assert account == [200, 200, 200, 200, 429, 429]
        assert status == 429
        # The lockout lasts until the first failure leaves the 15-minute window (however long
        # the requests took on a busy machine).
        elapsed = time.monotonic() - first_failure
        assert 900 - elapsed - 1 <= int(headers["Retry-After"]) <= 900
        assert address == [200, 200, 429]
    finally:
        for server in servers:
            server.stop()
