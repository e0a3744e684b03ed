"""Staff workflow findings (issue 22) in Chromium: the course's staff tools are buttons in its
admin header, approving on the learner list, the live class showing a learner on the lesson they
opened, and axe-core on the quiz editor and a logged-out page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from learning import services
from learning.models import Enrollment
from tests.realtime.conftest import World, layer, world  # noqa: F401  (fixtures)
from tests.realtime.support import Uvicorn, make_user
from tests.realtime.test_browser import WAIT_MS, _learner_context, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _in_thread(fn: Any, **kwargs: Any) -> Any:
    """Run ORM work off playwright's event-loop thread (Django refuses it there)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, **kwargs).result()


def _staff_page(browser: Browser, server: Uvicorn, world: World) -> Any:  # noqa: F811
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": world.staff_session, "url": server.url}])
    return context.new_page()


def test_course_staff_tools_are_visible_buttons_in_the_page_header(
    world: World, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    page = _staff_page(browser, server, world)
    course = world.site.course.pk
    for url in (f"/admin/pages/{course}/edit/", f"/admin/pages/{course}/"):
        page.goto(url)
        header = page.locator("header.w-slim-header")
        for label in ("Learners", "Analytics", "Live class", "Plugins"):
            button = header.get_by_role("link", name=label, exact=True)
            assert button.is_visible(), (url, label)  # no "..." menu to open first
        header.get_by_role("link", name="Learners", exact=True).click()
        page.wait_for_url(f"**/admin/learning/courses/{course}/learners/")


def test_approve_and_decline_on_the_learner_list(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    course = world.site.approval_course
    for name in ("ann", "ben", "cat"):
        _in_thread(lambda name=name: services.enrollment_request(user=make_user(name), course=course))
    page = _staff_page(browser, server, world)
    page.goto(f"/admin/learning/courses/{course.pk}/learners/?status=pending_approval")
    page.get_by_role("button", name="Approve ann").click()
    page.get_by_text("1 request approved.").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Decline ben").click()
    page.get_by_text("1 request declined.").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Approve all 1").click()
    page.get_by_text("1 request approved.").wait_for(timeout=WAIT_MS)
    statuses = _in_thread(lambda: dict(Enrollment.objects.filter(course=course).values_list("user__username", "status")))
    assert statuses == {"ann": "active", "ben": "cancelled", "cat": "active"}


def test_live_class_shows_a_learner_on_the_lesson_they_open(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    staff_page = _staff_page(browser, server, world)
    staff_page.goto(f"/admin/live/courses/{world.site.course.pk}/")
    staff_page.wait_for_function(
        "document.querySelector('[data-live-class-status]').textContent === 'Live'", timeout=WAIT_MS
    )
    learner_tab = _learner_context(browser, server, world).new_page()
    learner_tab.goto("/courses/python/lesson-2/")  # opened, not completed
    lesson2 = world.site.lessons[1].pk
    staff_page.locator(f'[data-live-lesson="{lesson2}"] li[data-user-id="{world.learner.pk}"]').wait_for(timeout=WAIT_MS)
    learner_tab.locator("form[data-complete-lesson] button[type=submit]").click()
    entry = staff_page.locator("[data-live-completions] li", has_text="ada completed Lesson 2")
    entry.wait_for(timeout=WAIT_MS)
    assert entry.locator("time").inner_text().count(":") == 1
    hours, minutes = entry.locator("time").inner_text().split(":")
    assert (len(hours), len(minutes), 0 <= int(hours) <= 23) == (2, 2, True)  # 24-hour, like the page's


def test_logged_out_pages_pass_axe_with_a_readable_sign_up_button(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    page = browser.new_context(base_url=server.url).new_page()
    page.goto("/courses/")
    sign_up = page.get_by_role("link", name="Sign up")
    assert sign_up.is_visible()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_quiz_editor_passes_axe(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    from tests.plugins.quizzes.helpers import make_quiz

    quiz = _in_thread(make_quiz, course=world.site.course)
    page = _staff_page(browser, server, world)
    page.goto(f"/admin/pages/{quiz.pk}/edit/")
    page.locator("[data-contentpath='questions']").first.wait_for(timeout=WAIT_MS)
    page.locator('[data-contentpath="questions"] .public-DraftEditor-content[aria-labelledby]').first.wait_for(timeout=WAIT_MS)
    answer = page.locator('[data-contentpath="questions"] input[id$="accepted_answers-1-value"]')
    assert answer.get_attribute("aria-label") == "Accepted answers 2"
    prompt = page.locator('[data-contentpath="questions"] .public-DraftEditor-content').first
    assert page.locator(f'#{prompt.get_attribute("aria-labelledby")}').inner_text().startswith("Prompt")
    results = Axe().run(page, context="[data-contentpath='questions']")
    assert results.violations_count == 0, results.generate_report()
