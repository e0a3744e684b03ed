"""A learner passes a quiz in headless Chromium; another tab's progress bar moves, live.

Real uvicorn server process (embedded mode), the realtime tests' world and browser fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.db import connection
from playwright.sync_api import Browser

from plugins.quizzes.models import QuizAttempt
from tests.plugins.quizzes.helpers import make_quiz
from tests.realtime.conftest import World, world  # noqa: F401  (fixture)
from tests.realtime.support import Uvicorn
from tests.realtime.test_browser import WAIT_MS, _learner_context, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

T = TypeVar("T")


def _in_thread(call: Callable[[], T]) -> T:
    """Run ORM work off the thread where Playwright's event loop runs (Django refuses it there)."""

    def work() -> T:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def test_passing_a_quiz_moves_the_other_tabs_progress_bar(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    quiz = _in_thread(lambda: make_quiz(world.site.course))
    context: Any = _learner_context(browser, server, world)
    course_tab = context.new_page()
    course_tab.goto("/courses/python/")
    course_tab.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)

    quiz_tab = context.new_page()
    quiz_tab.goto("/courses/python/check-yourself/")
    assert quiz_tab.locator("form[data-complete-lesson]").count() == 0
    quiz_tab.locator("form[data-quiz-start] button[type=submit]").click()
    quiz_tab.wait_for_selector("form[data-quiz-form]", timeout=WAIT_MS)
    quiz_tab.check('input[name="q-q-single"][value="c-paris"]')
    quiz_tab.check('input[name="q-q-multi"][value="c-two"]')
    quiz_tab.check('input[name="q-q-multi"][value="c-three"]')
    quiz_tab.fill('input[name="q-q-short"]', "Accepted-Answer-Secret")
    quiz_tab.fill('input[name="q-q-number"]', "42,125")
    quiz_tab.locator("form[data-quiz-form] button[type=submit]").click()
    quiz_tab.wait_for_selector('[data-quiz-result][data-passed="true"]', timeout=WAIT_MS)
    assert "Attempt 1: 100% · passed" in quiz_tab.locator("[data-quiz-result] h2").inner_text()
    assert quiz_tab.locator('[data-lesson-state="complete"]').count() == 1

    course_tab.wait_for_function(
        "() => document.querySelector('[data-course-progress] [data-progress-bar]').dataset.percent === '25'",
        timeout=WAIT_MS,
    )
    assert course_tab.locator("[data-course-progress] [data-progress-count]").inner_text() == "1 of 4 lessons"
    assert course_tab.locator(f'li[data-lesson-id="{quiz.pk}"]').get_attribute("class").split().count("is-complete") == 1
    assert _in_thread(lambda: QuizAttempt.objects.get(quiz=quiz).passed) is True
    context.close()


def test_after_a_pass_the_quiz_page_offers_no_retry_and_reads_whole_percents(
    world: World, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    quiz = _in_thread(lambda: make_quiz(world.site.course))
    context: Any = _learner_context(browser, server, world)
    page = context.new_page()
    page.goto("/courses/python/check-yourself/")
    page.locator("form[data-quiz-start] button[type=submit]").click()
    page.wait_for_selector("form[data-quiz-form]", timeout=WAIT_MS)
    page.check('input[name="q-q-single"][value="c-lyon"]')
    page.check('input[name="q-q-multi"][value="c-four"]')
    page.fill('input[name="q-q-short"]', "nope")
    page.fill('input[name="q-q-number"]', "1")
    page.locator("form[data-quiz-form] button[type=submit]").click()
    page.wait_for_selector('[data-quiz-result][data-passed="false"]', timeout=WAIT_MS)
    assert "Attempt 1: 0% · not passed" in page.locator("[data-quiz-result] h2").inner_text()
    assert page.locator("form[data-quiz-start] button[type=submit]").inner_text() == "Try again"

    page.locator("form[data-quiz-start] button[type=submit]").click()
    page.wait_for_selector("form[data-quiz-form]", timeout=WAIT_MS)
    page.check('input[name="q-q-single"][value="c-paris"]')
    page.check('input[name="q-q-multi"][value="c-two"]')
    page.check('input[name="q-q-multi"][value="c-three"]')
    page.fill('input[name="q-q-short"]', "Accepted-Answer-Secret")
    page.fill('input[name="q-q-number"]', "42.125")
    page.locator("form[data-quiz-form] button[type=submit]").click()
    page.wait_for_selector('[data-quiz-result][data-passed="true"]', timeout=WAIT_MS)
    assert "Attempt 2: 100% · passed" in page.locator("[data-quiz-result] h2").inner_text()
    # Passed: nothing to try again; the grade (the best attempt) is said instead.
    assert page.locator("form[data-quiz-start]").count() == 0
    assert page.get_by_role("button", name="Try again").count() == 0
    assert page.locator('[data-quiz-state="passed"]').inner_text() == (
        "You passed this quiz: your grade is 100% (your best attempt)."
    )
    assert page.locator("table.quiz-attempts tbody td:nth-child(2)").all_inner_texts() == ["100%", "0%"]
    assert ".00%" not in page.content()
    page.reload()
    assert page.locator("form[data-quiz-start]").count() == 0
    assert _in_thread(lambda: str(quiz.grades.get().score)) == "100.00"
    context.close()
