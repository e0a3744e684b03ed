"""Fixtures of the realtime tests: the channel layer under test, content and logged-in users."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from learning import services
from tests.realtime.support import SiteTree, build_site, login_cookie, make_user

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}


def redis_layer(url: str, prefix: str, capacity: int = 100) -> dict[str, Any]:
    """A channels_redis layer on ``url`` with its own key prefix (retries as in settings)."""
    host = {
        "address": url,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        "retry_on_error": [RedisConnectionError],
        "socket_timeout": 15,
        "socket_connect_timeout": 5,
        "max_connections": 1000,
    }
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "prefix": prefix, "capacity": capacity, "expiry": 30, "group_expiry": 86400},
        }
    }


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def layer(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run the test on the embedded in-process layer (+ outbox relay), then on channels_redis."""
    if request.param == "redis":
        settings.CHANNEL_LAYERS = redis_layer(django_settings.REDIS_URL, f"t{uuid.uuid4().hex[:10]}")
    else:
        settings.CHANNEL_LAYERS = MEMORY_LAYER
    return request.param


@dataclass
class World:
    """Content and people of a realtime test."""

    site: SiteTree
    learner: Any
    learner_session: str
    learner_client: Any
    other: Any
    other_session: str
    staff: Any
    staff_session: str


@pytest.fixture
def world(transactional_db: None) -> Iterator[World]:
    """A site, an enrolled learner, a learner of another course, and a staff member."""
    site = build_site()
    learner = make_user("ada")
    other = make_user("bob")
    staff = make_user("eve", is_staff=True, is_superuser=True)
    services.enrollment_request(user=learner, course=site.course)
    services.enrollment_request(user=other, course=site.other_course)
    learner_client, learner_session = login_cookie(learner)
    _, other_session = login_cookie(other)
    _, staff_session = login_cookie(staff)
    yield World(site, learner, learner_session, learner_client, other, other_session, staff, staff_session)
