"""Lesson dates in Chromium: an editor sets "opens 2 days after the start" and fixed due dates
in the lesson editor; the learner then sees "Opens on ..." and the dashboard's due entries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser

from tests.realtime.conftest import World, world  # noqa: F401  (fixture)
from tests.realtime.support import Uvicorn
from tests.realtime.test_browser import WAIT_MS, _learner_context, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _editor(browser: Browser, server: Uvicorn, world: World) -> Any:  # noqa: F811
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": world.staff_session, "url": server.url}])
    return context.new_page()


def _publish_dates(page: Any, lesson_id: int, **fields: str) -> None:
    """Open the lesson's editor, set the Dates panel's ``fields`` and publish."""
    page.goto(f"/admin/pages/{lesson_id}/edit/")
    page.wait_for_selector("#id_release_rule", timeout=WAIT_MS)
    for name, value in fields.items():
        if name.endswith("_rule"):
            page.select_option(f"#id_{name}", value)
        else:
            page.fill(f"#id_{name}", value)
            page.keyboard.press("Escape")  # close the date picker
    # "Publish" sits in the footer's dropdown: click it as the menu would.
    page.evaluate("document.querySelector('button[name=\"action-publish\"]').click()")
    page.wait_for_url("**/admin/pages/*/", timeout=WAIT_MS)


def test_editor_sets_dates_and_the_learner_sees_them(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    lessons = world.site.lessons
    now = timezone.localtime()
    yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    tomorrow = (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    editor = _editor(browser, server, world)
    _publish_dates(editor, lessons[0].pk, due_rule="fixed", due_at=yesterday)
    _publish_dates(editor, lessons[1].pk, release_rule="after_start", release_days="2")
    _publish_dates(editor, lessons[2].pk, due_rule="fixed", due_at=tomorrow)

    learner = _learner_context(browser, server, world).new_page()
    learner.goto("/courses/python/lesson-2/")
    closed = learner.locator('[data-lesson-state="not-open"]')
    closed.wait_for(timeout=WAIT_MS)
    opens = timezone.localtime(_activated_at(world) + timedelta(days=2))
    assert f"Opens on {opens:%-d %B %Y}" in closed.inner_text()
    assert learner.locator(".lesson-body").count() == 0

    learner.goto("/courses/python/")
    assert learner.locator("[data-overdue]").count() == 1
    assert learner.locator("[data-opens]").count() == 1

    learner.goto("/dashboard/")
    overdue = learner.locator('[data-due-list="overdue"] li')
    assert overdue.count() == 1 and "Lesson 1" in overdue.inner_text()
    soon = learner.locator('[data-due-list="due_soon"] li')
    assert soon.count() == 1 and "Lesson 3" in soon.inner_text()


def _activated_at(world: World) -> Any:  # noqa: F811
    from learning.models import Enrollment

    with ThreadPoolExecutor(1) as pool:  # Django refuses ORM calls on playwright's event-loop thread
        return pool.submit(
            lambda: Enrollment.objects.get(user=world.learner, course=world.site.course).activated_at
        ).result()
