"""/api/docs/ in headless Chromium: Swagger UI renders every operation of the schema from the
site's own static files, and no request leaves loopback (it works offline)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import CHROMIUM

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Patience for the page to render (milliseconds); a hang fails, nothing is timed.
WAIT_MS = 30_000
# Operations in the v1 schema (courses 2, lessons 2, enrollments 5, progress 2, notifications 3, me 1,
# socket tickets 1; staff: course enrollments 5, course progress 1, course gradebook 1, users by external id 2; the
# plugins' quizzes 5, certificates 2, webhooks 11, discussions 14).
OPERATIONS = 57


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_swagger_ui_renders_every_operation_offline(live_server: Any, browser: Browser) -> None:
    page = browser.new_page()
    requested: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    response = page.goto(f"{live_server.url}/api/docs/")
    assert response is not None and response.status == 200
    page.wait_for_selector(".opblock-summary", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)

    assert page.locator(".opblock").count() == OPERATIONS
    assert page.locator(".info .title").inner_text().startswith("Academy API")
    assert [url for url in requested if urlsplit(url).hostname not in LOOPBACK and not url.startswith("data:")] == []
    assert any(url.endswith("/api/schema/") for url in requested)
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in url for url in requested)
    assert (failed, errors) == ([], [])
