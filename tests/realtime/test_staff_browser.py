"""The staff tools in Chromium: the analytics charts render (screenshot, axe-core clean on our
content) and the live class view moves a learner and adds a completion as it happens."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from learning import services
from tests.realtime.conftest import World
from tests.realtime.support import Uvicorn
from tests.realtime.test_browser import WAIT_MS, _learner_context, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
# Where screenshots go (a test's tmp folder unless ACADEMY_SCREENSHOTS names one to keep them).
SCREENSHOTS = os.environ.get("ACADEMY_SCREENSHOTS", "")


def _staff_context(browser: Browser, server: Uvicorn, world: World) -> Any:  # noqa: F811
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": world.staff_session, "url": server.url}])
    return context


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_analytics_charts_render_and_are_accessible(
    world: World, server: Uvicorn, browser: Browser, tmp_path: Path  # noqa: F811
) -> None:
    with ThreadPoolExecutor(1) as pool:  # Django refuses ORM calls on playwright's event-loop thread
        pool.submit(services.lesson_progress_record, user=world.learner, lesson=world.site.lessons[0]).result()
    page = _staff_context(browser, server, world).new_page()
    page.goto(f"/admin/learning/courses/{world.site.course.pk}/analytics/")
    chart = page.locator("[data-course-analytics] svg.academy-chart").first
    chart.wait_for(timeout=WAIT_MS)
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 50
    assert chart.locator("rect").count() >= 9  # three lessons, three bars each (and the legend)
    assert page.locator("[data-funnel-table] tbody tr").count() == 3
    assert _shot(page, tmp_path, "analytics").stat().st_size > 0
    results = Axe().run(page, context="[data-course-analytics]")
    assert results.violations_count == 0, results.generate_report()


def test_learner_list_is_accessible(world: World, server: Uvicorn, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    page = _staff_context(browser, server, world).new_page()
    page.goto(f"/admin/learning/courses/{world.site.course.pk}/learners/")
    page.locator("[data-learner-table]").wait_for(timeout=WAIT_MS)
    _shot(page, tmp_path, "learners")
    results = Axe().run(page, context="[data-course-learners]")
    assert results.violations_count == 0, results.generate_report()


def test_live_class_view_follows_a_learner(world: World, server: Uvicorn, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    staff_page = _staff_context(browser, server, world).new_page()
    staff_page.goto(f"/admin/live/courses/{world.site.course.pk}/")
    staff_page.wait_for_function(
        "document.querySelector('[data-live-class-status]').textContent === 'Live'", timeout=WAIT_MS
    )
    learner_tab = _learner_context(browser, server, world).new_page()
    learner_tab.goto("/courses/python/lesson-1/")
    learner_tab.locator("form[data-complete-lesson] button[type=submit]").click()
    lesson2 = world.site.lessons[1].pk
    staff_page.locator(f'[data-live-lesson="{lesson2}"] li[data-user-id="{world.learner.pk}"]').wait_for(timeout=WAIT_MS)
    staff_page.locator("[data-live-completions] li", has_text="ada completed Lesson 1").wait_for(timeout=WAIT_MS)
    _shot(staff_page, tmp_path, "live-class")
    results = Axe().run(staff_page, context="[data-live-class]")
    assert results.violations_count == 0, results.generate_report()
