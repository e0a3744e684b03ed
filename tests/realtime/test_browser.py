"""Live pages in headless Chromium against a real uvicorn server process (embedded mode).

Two tabs of one learner: completing a lesson in one moves the progress bar of the other without a
reload. An editor publishes a lesson change: the learner's open lesson page shows the update
notice (and keeps its content).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, sync_playwright

from courses.models import LessonPage
from learning import services
from tests.conftest import CHROMIUM
from tests.realtime.conftest import MEMORY_LAYER, World
from tests.realtime.support import Uvicorn

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# Patience for the page to react (milliseconds); a hang fails, nothing is timed.
WAIT_MS = 30_000


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def server(world: World, settings: Any, tmp_path: Path) -> Iterator[Uvicorn]:
    """uvicorn on the test database, embedded mode (pushes reach it through the outbox relay)."""
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    started = Uvicorn(tmp_path / "uvicorn.log", REDIS_URL="").start()
    try:
        yield started
    finally:
        started.stop()


def _learner_context(browser: Browser, server: Uvicorn, world: World) -> Any:
    context = browser.new_context(base_url=server.url)
    context.add_cookies([{"name": "sessionid", "value": world.learner_session, "url": server.url}])
    return context


def test_two_tabs_completing_a_lesson_moves_the_other_tabs_progress_bar(
    world: World, server: Uvicorn, browser: Browser
) -> None:
    context = _learner_context(browser, server, world)
    course_tab = context.new_page()
    course_tab.goto("/courses/python/")
    course_tab.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    bar = course_tab.locator("[data-course-progress] [data-progress-bar]")
    assert bar.get_attribute("data-percent") == "0"
    assert bar.evaluate("el => el.getBoundingClientRect().width") == 0

    lesson_tab = context.new_page()
    lesson_tab.goto("/courses/python/lesson-1/")
    lesson_tab.locator("form[data-complete-lesson] button[type=submit]").click()
    lesson_tab.wait_for_load_state()

    course_tab.wait_for_function(
        "() => document.querySelector('[data-course-progress] [data-progress-bar]').dataset.percent === '33'",
        timeout=WAIT_MS,
    )
    # The stylesheet turns data-percent into the bar's width (after its transition).
    course_tab.wait_for_function(
        "() => { const bar = document.querySelector('[data-course-progress] [data-progress-bar]');"
        " return Math.round(100 * bar.getBoundingClientRect().width / bar.parentElement.getBoundingClientRect().width) === 33; }",
        timeout=WAIT_MS,
    )
    assert course_tab.locator("[data-course-progress] [data-progress-count]").inner_text() == "1 of 3 lessons"
    assert course_tab.locator("[data-course-progress] .progress").get_attribute("aria-valuenow") == "33"
    assert course_tab.locator(f'li[data-lesson-id="{world.site.lessons[0].pk}"]').get_attribute("class").split().count("is-complete") == 1
    context.close()


def test_editor_publishes_lesson_change_learner_page_shows_update_notice(
    world: World, server: Uvicorn, browser: Browser
) -> None:
    context = _learner_context(browser, server, world)
    page = context.new_page()
    page.goto("/courses/python/lesson-2/")
    page.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    heading = page.locator("h1").first.inner_text()

    # The editor publishes a new revision (in this process: another process than the server's).
    def publish_change() -> None:
        lesson = LessonPage.objects.get(pk=world.site.lessons[1].pk)
        lesson.title = "Lesson 2, revised"
        lesson.save_revision().publish()
        connection.close()

    # Playwright's sync API runs an event loop in this thread: the ORM goes to another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(publish_change).result()

    notice = page.wait_for_selector("[data-update-notice-slot] .update-notice", timeout=WAIT_MS)
    assert notice.inner_text().startswith("This lesson was updated.")
    assert page.locator(".update-notice a[data-reload]").get_attribute("href") == f"{server.url}/courses/python/lesson-2/"
    # The content under the reader is unchanged until they choose to reload.
    assert page.locator("h1").first.inner_text() == heading
    context.close()


def test_completing_the_last_lesson_in_one_tab_updates_the_open_dashboard_without_reload(
    world: World, server: Uvicorn, browser: Browser
) -> None:
    """The dashboard's card says "Completed" with the new percent and no longer offers to
    continue the finished lesson; the header badge and "(N unread)" stay one number."""
    first, second, _third = world.site.lessons

    def prepare() -> None:
        for lesson in (first, second):
            services.lesson_progress_record(user=world.learner, lesson=lesson)
        connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(prepare).result()

    context = _learner_context(browser, server, world)
    dashboard = context.new_page()
    dashboard.goto("/dashboard/")
    dashboard.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    card = dashboard.locator(f'[data-enrollment][data-course-id="{world.site.course.pk}"]')
    assert card.locator("[data-enrollment-status]").inner_text() == "Active"
    assert card.locator("[data-progress-percent]").inner_text() == "66%"
    assert " ".join(card.locator("[data-next-lesson]").inner_text().split()) == "Next: Lesson 3"
    assert " ".join(dashboard.locator("[data-resume] [data-resume-link]").inner_text().split()) == "Continue Lesson 3"
    unread_before = dashboard.locator("[data-unread-total]").get_attribute("data-unread-total")

    lesson_tab = context.new_page()
    lesson_tab.goto("/courses/python/lesson-3/")
    lesson_tab.locator("form[data-complete-lesson] button[type=submit]").click()
    lesson_tab.wait_for_load_state()

    dashboard.wait_for_function(
        f"() => document.querySelector('[data-enrollment][data-course-id=\"{world.site.course.pk}\"] "
        "[data-enrollment-status]').textContent === 'Completed'",
        timeout=WAIT_MS,
    )
    assert card.locator("[data-enrollment-status]").get_attribute("data-enrollment-status") == "completed"
    assert card.locator("[data-enrollment-status]").get_attribute("class") == "pill pill-completed"
    assert card.locator("[data-progress-percent]").inner_text() == "100%"
    assert card.locator("[data-progress-count]").inner_text() == "3 of 3 lessons"
    assert card.locator("[data-progress-bar]").get_attribute("data-percent") == "100"
    assert card.locator("[data-next-lesson]").is_hidden()
    assert card.locator("[data-all-done]").inner_text() == "Every lesson is done."
    # No "continue" to the finished lesson anywhere on the dashboard.
    assert dashboard.locator("[data-resume]").is_hidden()
    assert dashboard.locator("a:visible", has_text="Lesson 3").count() == 0
    # The course-completed notification arrives live: the badge and "(N unread)" move together.
    expected = int(unread_before or 0) + 1
    dashboard.wait_for_function(
        f"() => document.querySelector('[data-unread-total]').dataset.unreadTotal === '{expected}'", timeout=WAIT_MS,
    )
    assert dashboard.locator("[data-unread-total]").inner_text() == f"({expected} unread)"
    assert dashboard.locator("[data-unread-count]").inner_text() == str(expected)
    context.close()
