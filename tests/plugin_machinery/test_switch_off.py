"""Switched off means off everywhere, for an outside plugin installed through an entry point:
its API answers the API's JSON 404 (not the site's HTML page), a view in a nested include of its
``urls.py`` answers 404 too, and both work again when it is switched back on."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from academy.plugins import activation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = False


def test_a_switched_off_plugins_api_answers_the_json_404_of_the_api_contract() -> None:
    client = Client()
    on = client.get("/api/v1/p/echo/")
    assert (on.status_code, on.json()) == (200, {"echo": "ok"})

    activation.set_state("echo", "off")
    off = client.get("/api/v1/p/echo/")
    assert off.status_code == 404
    assert off["Content-Type"] == "application/json"
    assert off.json() == {"error": {"code": "not_found", "message": "This feature is switched off.", "fields": {}}}
    # A write gets the same answer (no CSRF failure, nothing written).
    assert client.post("/api/v1/p/echo/", {}, content_type="application/json").json()["error"]["code"] == "not_found"

    activation.set_state("echo", "on")
    assert client.get("/api/v1/p/echo/").json() == {"echo": "ok"}


def test_a_view_in_a_nested_include_of_a_switched_off_plugin_answers_404() -> None:
    client = Client()
    assert client.get("/p/echo/nested/deep/").content == b"echo ok"
    activation.set_state("echo", "off")
    assert client.get("/p/echo/nested/deep/").status_code == 404
    activation.set_state("echo", "optin")  # opt-in is on somewhere: its pages answer
    assert client.get("/p/echo/nested/deep/").status_code == 200
