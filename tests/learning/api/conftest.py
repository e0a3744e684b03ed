"""Fixtures for the REST API: clients authenticated by session or by personal access token."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from learning import tokens


def session_client(user: Any, *, enforce_csrf: bool = False) -> APIClient:
    """An API client with ``user``'s browser session."""
    client = APIClient(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def token_client(user: Any, *, expires_in_days: int | None = None) -> APIClient:
    """An API client sending a fresh personal access token of ``user``."""
    secret = tokens.token_create(user=user, name="tests", expires_in_days=expires_in_days).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api() -> APIClient:
    """An anonymous API client."""
    return APIClient()
