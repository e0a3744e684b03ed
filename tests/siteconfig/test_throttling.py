"""The API throttles (settings' DEFAULT_THROTTLE_CLASSES) on a tiny DRF view, counted by the
shared limiter: anon per client address, user per user, 429 with Retry-After, fail open."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from tests.academy.ratelimit_support import STORES, dead_redis_url, use_store


class TinyView(APIView):
    """An API view with the project's default throttles (there is no real API yet)."""

    permission_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


def _rates(anon: str = "3/hour", user: str = "5/hour") -> Any:
    from django.conf import settings

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": anon, "user": user}
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def _get(user: Any = None, **meta: str) -> Any:
    request = APIRequestFactory().get("/api/tiny/", **meta)
    if user is not None:
        force_authenticate(request, user=user)
    return TinyView.as_view()(request)


def test_default_throttles_are_the_limiters_with_the_seed_rates(settings: Any) -> None:
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "learning.api.throttling.AnonRateThrottle",
        "learning.api.throttling.UserRateThrottle",
        "learning.api.throttling.WriteRateThrottle",
    ]
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "anon": "100/hour", "user": "1000/hour",
        "enrollments": "60/hour", "progress": "600/hour", "notifications": "300/hour",
        "staff": "10000/hour",
    }
    assert [type(t).__name__ for t in TinyView().get_throttles()] == [
        "AnonRateThrottle", "UserRateThrottle", "WriteRateThrottle",
    ]


def test_anonymous_requests_are_throttled_per_client_address(store_kind: str) -> None:
    first = time.monotonic()
    with _rates(anon="3/hour"):
        statuses = [_get(REMOTE_ADDR="203.0.113.5").status_code for _ in range(3)]
        refused = _get(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.8")
        other = _get(REMOTE_ADDR="203.0.113.6")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 3600 - (time.monotonic() - first) - 1 <= int(refused["Retry-After"]) <= 3600
    assert refused.data["error"]["code"] == "throttled"
    assert refused.data["error"]["message"].startswith("Request was throttled.")
    assert other.status_code == 200


@pytest.mark.django_db
def test_users_are_throttled_per_user_whatever_their_address(store_kind: str) -> None:
    ada = get_user_model().objects.create_user("ada")
    bob = get_user_model().objects.create_user("bob")
    with _rates(anon="1/hour", user="5/hour"):
        statuses = [_get(ada, REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(6)]
        bob_status = _get(bob).status_code
        # The user rate does not use up the anonymous rate of the address, nor the reverse.
        anon_status = _get(REMOTE_ADDR="203.0.113.1").status_code

    assert statuses == [200] * 5 + [429]
    assert (bob_status, anon_status) == (200, 200)


def test_throttles_fail_open_when_redis_is_down(settings: Any) -> None:
    settings.RATELIMIT_REDIS_URL = dead_redis_url()
    with _rates(anon="1/hour"):
        assert [_get().status_code for _ in range(3)] == [200, 200, 200]
