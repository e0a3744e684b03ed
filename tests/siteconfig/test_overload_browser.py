"""What a learner sees when shed, in headless Chromium under the site's Content-Security-Policy.

The 503 pages are the real ones (``capacity.overload_page``); a tiny HTTP server stands in for
the overloaded site (a form, a page that is always busy, the static files), so that the test
holds no thread of a real server busy.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from siteconfig import capacity
from tests.conftest import CHROMIUM
from tests.realtime.test_browser import CHROMIUM_ARGS, WAIT_MS
from tests.siteconfig.test_csp import EXPECTED_POLICY

pytestmark = pytest.mark.browser

STATIC_ROOT = Path(__file__).resolve().parents[2] / "static"
POLICY = "; ".join(f"{name} {' '.join(sources)}" for name, sources in EXPECTED_POLICY.items())
RETRY_AFTER = 1
FORM = b'<!DOCTYPE html><form method="post" action="/learning/complete/"><input name="note" id="note"><button id="send">Complete</button></form>'


class BusySite(http.server.BaseHTTPRequestHandler):
    """GET /lesson/: always the busy page; POST: the not-saved page; /form/ and /static/ as usual."""

    busy_loads = 0

    def log_message(self, *args: object) -> None:
        return

    def answer(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/static/"):
            file = STATIC_ROOT / self.path.removeprefix("/static/")
            kind = "text/css" if file.suffix == ".css" else "text/javascript"
            self.answer(200, file.read_bytes(), kind) if file.is_file() else self.answer(404, b"")
        elif self.path == "/form/":
            self.answer(200, FORM)
        elif self.path == "/lesson/":
            type(self).busy_loads += 1
            self.answer(503, capacity.overload_page(retry_after=RETRY_AFTER))
        else:
            self.answer(404, b"")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(503, capacity.overload_page(retry_after=RETRY_AFTER, action_lost=True))


@pytest.fixture
def site() -> Iterator[str]:
    BusySite.busy_loads = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BusySite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_busy_get_page_reloads_itself_without_breaking_the_policy(site: str, browser: Browser) -> None:
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(f"{site}/lesson/")
    page.wait_for_function("() => performance.getEntriesByType('navigation')[0].type === 'reload'", timeout=WAIT_MS)
    assert BusySite.busy_loads >= 2
    assert page.locator("h1").inner_text() == "We are very busy right now"
    assert violations == []


def test_shed_post_page_says_not_saved_and_its_button_goes_back_to_the_filled_form(site: str, browser: Browser) -> None:
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(f"{site}/form/")
    page.fill("#note", "my answer")
    page.click("#send")
    page.wait_for_url(f"{site}/learning/complete/", timeout=WAIT_MS)
    assert page.locator("strong").inner_text() == "What you just sent was not saved."
    back = page.locator("[data-history-back]")
    back.wait_for(state="visible", timeout=WAIT_MS)
    back.click()
    page.wait_for_url(f"{site}/form/", timeout=WAIT_MS)
    assert page.input_value("#note") == "my answer"
    assert violations == []
