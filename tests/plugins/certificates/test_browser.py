"""In headless Chromium against a real uvicorn server (embedded mode): the learner's course page
is open; they complete the course (in another process: this test's) and the certificate task
runs; the download link appears in the sidebar without a reload, and it downloads the PDF."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser

from learning import services as learning_services
from plugins.certificates import tasks
from plugins.certificates.models import Certificate
from tests.realtime.conftest import MEMORY_LAYER, World
from tests.realtime.support import Uvicorn
from tests.realtime.test_browser import WAIT_MS, _learner_context

pytestmark = pytest.mark.browser


@pytest.fixture
def server(world: World, settings: Any, tmp_path: Path) -> Iterator[Uvicorn]:
    """uvicorn on the test database, embedded mode (pushes reach it through the outbox relay)."""
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    started = Uvicorn(tmp_path / "uvicorn.log", REDIS_URL="").start()
    try:
        yield started
    finally:
        started.stop()


def test_certificate_link_appears_on_the_open_course_page_when_the_task_finishes(
    world: World, server: Uvicorn, browser: Browser
) -> None:
    context = _learner_context(browser, server, world)
    page = context.new_page()
    page.goto("/courses/python/")
    page.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    assert page.locator("[data-certificate]").get_attribute("hidden") is not None

    def complete_and_issue() -> str:
        for lesson in world.site.lessons:
            learning_services.lesson_progress_record(user=world.learner, lesson=lesson, completed=True)
        tasks.issue_certificate(user_id=world.learner.pk, course_id=world.site.course.pk)
        code = Certificate.objects.get(user=world.learner).code
        connection.close()
        return code

    # Playwright's sync API runs an event loop in this thread: the ORM goes to another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        code = pool.submit(complete_and_issue).result()

    link = page.wait_for_selector("[data-certificate] a[data-certificate-download]", timeout=WAIT_MS)
    assert link.get_attribute("href") == f"/p/certificates/{code}/download/"
    assert page.locator("[data-certificate] a[data-certificate-verify-link]").get_attribute("href") == f"/certificates/{code}/"
    with page.expect_download(timeout=WAIT_MS) as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "certificate-python.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    context.close()
