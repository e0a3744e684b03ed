"""In headless Chromium against a real uvicorn server (embedded mode): "N people are on this
lesson" in the lesson's discussions panel appears when a second person opens the lesson, counts
a second tab of one person once, and goes when the other person leaves."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.plugins.discussions.test_browser import _open, _tab, browser, server  # noqa: F401 (fixtures)
from tests.realtime.conftest import World
from tests.realtime.support import Uvicorn
from tests.realtime.test_browser import WAIT_MS

pytestmark = pytest.mark.browser

LESSON = "/courses/python/lesson-1/"
PANEL_LINE = ".discussions [data-lesson-presence]"
CORE_LINE = "[data-lesson-presence]:not([data-presence-slot])"


def _line(page: Page) -> str | None:
    """The panel's presence line when shown, else None."""
    return page.evaluate(
        "(s) => { const el = document.querySelector(s); return el && !el.hidden ? el.textContent : null; }", PANEL_LINE,
    )


def _wait_line(page: Page, text: str | None) -> None:
    if text is None:
        page.wait_for_selector(f"{PANEL_LINE}[data-viewers='1']", state="attached", timeout=WAIT_MS)
    else:
        page.wait_for_selector(f"{PANEL_LINE} >> text={text}", timeout=WAIT_MS)
    assert _line(page) == text
    assert page.locator(CORE_LINE).is_hidden()


def test_people_on_a_lesson_appear_and_go_live(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    dialogs: list[str] = []
    ada = _tab(browser, server, world.learner_session, dialogs)
    _open(ada, LESSON)
    _wait_line(ada, None)  # alone: nothing shown

    staff = _tab(browser, server, world.staff_session, dialogs)
    _open(staff, LESSON)
    for page in (ada, staff):
        _wait_line(page, "2 people are on this lesson")

    # A second tab of Ada's is still two people.
    ada_again = ada.context.new_page()
    _open(ada_again, LESSON)
    _wait_line(ada_again, "2 people are on this lesson")

    # The staff member leaves: Ada's tabs show nothing again.
    staff.close()
    for page in (ada, ada_again):
        _wait_line(page, None)
    assert dialogs == []
