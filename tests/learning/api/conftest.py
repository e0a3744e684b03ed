"""Fixtures for the REST API: clients authenticated by session or by personal access token, and
a client generated from the API's own schema (openapi-python-client) as app developers make one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from rest_framework.test import APIClient

from bench import _client as client_generation
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


@pytest.fixture
def generated_client(tmp_path: Path) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from ``/api/schema/`` (so the schema of this
    code), imported from ``tmp_path``. Calls made through :func:`generated_api` run the app
    in-process on the test database: Django's per-request connection closing is off meanwhile."""
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    try:
        package = client_generation.generate(schema.json(), tmp_path)
    except client_generation.GenerationFailed as exc:
        pytest.fail(str(exc))
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield package
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        client_generation.remove(tmp_path)


def generated_api(package: ModuleType, token: str) -> Any:
    """The generated package's ``AuthenticatedClient`` with ``token``, calling the app in-process
    (httpx's WSGI transport); an undeclared status raises."""
    import httpx

    return package.AuthenticatedClient(
        base_url="http://localhost", token=token, raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=get_wsgi_application())},
    )
