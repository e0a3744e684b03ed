"""In headless Chromium against a real uvicorn server (embedded mode): two learners and a staff
member discuss a lesson live; a stuck question lands in the staff queue and gets answered; XSS
payloads in titles, bodies and names open no dialog and break no CSP rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright

from learning import services as learning_services
from plugins.discussions import services
from plugins.discussions.models import Post, Thread
from tests.conftest import CHROMIUM
from tests.learning.conftest import make_user
from tests.realtime.conftest import MEMORY_LAYER, World
from tests.realtime.support import Uvicorn, login_cookie
from tests.realtime.test_browser import CHROMIUM_ARGS, WAIT_MS

pytestmark = pytest.mark.browser

T = TypeVar("T")
LESSON = "/courses/python/lesson-1/"
RECORD = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>"><svg onload=alert(3)>'


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


def orm(call: Callable[[], T]) -> T:
    """Run ``call`` in another thread (Playwright's sync API runs an event loop in this one)."""

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _tab(browser: Browser, server: Uvicorn, session: str, dialogs: list[str]) -> Page:
    context = browser.new_context(base_url=server.url)
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    context.add_init_script(RECORD)
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    assert _violations(page) == []


def _violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def _second_learner(world: World) -> str:
    carol = make_user("carol", first_name="Carol")
    learning_services.enrollment_request(user=carol, course=world.site.course)
    return login_cookie(carol)[1]


def test_two_learners_and_staff_discuss_a_lesson_live(world: World, server: Uvicorn, browser: Browser) -> None:
    dialogs: list[str] = []
    carol_session = orm(lambda: _second_learner(world))
    ada = _tab(browser, server, world.learner_session, dialogs)
    carol = _tab(browser, server, carol_session, dialogs)
    staff = _tab(browser, server, world.staff_session, dialogs)
    for page in (ada, carol):
        _open(page, LESSON)

    # Ada asks; Carol's open lesson page shows the question without a reload.
    ada.click("details.discussions-new summary")
    ada.fill("[data-new-thread] input[name=title]", "Why is my loop infinite?")
    ada.fill("[data-new-thread] textarea[name=body]", "It never **stops**.")
    ada.click("[data-new-thread] button[type=submit]")
    ada.wait_for_selector('[data-thread] >> text=Why is my loop infinite?', timeout=WAIT_MS)
    carol.wait_for_selector('[data-thread] >> text=Why is my loop infinite?', timeout=WAIT_MS)
    thread = orm(lambda: Thread.objects.get())

    # Stuck: it waits in the staff queue.
    staff.goto(f"/admin/discussions/course/{world.site.course.pk}/")
    assert staff.locator(f'[data-queue-thread-id="{thread.pk}"]').count() == 1

    # Two tabs follow the thread: Ada's lesson page (expanded) and the staff's thread page.
    ada.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    ada.click(f'[data-thread-id="{thread.pk}"] [data-expand]')
    ada.wait_for_selector(f'[data-thread-id="{thread.pk}"] [data-reply-form]', timeout=WAIT_MS)
    _open(staff, f"/p/discussions/threads/{thread.pk}/")

    # Carol replies from her lesson page: both tabs show it live.
    carol.click(f'[data-thread-id="{thread.pk}"] [data-expand]')
    carol.fill(f'[data-thread-id="{thread.pk}"] [data-reply-body]', "Check the loop condition.")
    carol.click(f'[data-thread-id="{thread.pk}"] [data-reply-form] button[type=submit]')
    for page in (ada, staff):
        page.wait_for_selector('[data-post-body] >> text=Check the loop condition.', timeout=WAIT_MS)

    # The staff member answers on the thread page; Ada sees the staff answer live and marks it.
    staff.fill("[data-reply-body]", "Your counter is never incremented: add `i += 1`.")
    staff.click("[data-reply-form] button[type=submit]")
    staff_answer = ada.wait_for_selector('[data-post].is-staff >> text=Your counter is never incremented', timeout=WAIT_MS)
    assert staff_answer is not None
    staff_post = orm(lambda: Post.objects.get(by_staff=True))
    ada.click(f'#post-{staff_post.pk} [data-mark-answered]')
    carol.wait_for_selector(f'[data-thread-id="{thread.pk}"] [data-answered]', timeout=WAIT_MS)
    staff.wait_for_selector(f"#post-{staff_post.pk} [data-answer-badge]", timeout=WAIT_MS)

    # The queue is empty now, and the median time to a first staff answer is shown.
    staff.goto(f"/admin/discussions/course/{world.site.course.pk}/")
    assert staff.locator("[data-queue-empty]").count() == 1
    assert "—" not in staff.locator("[data-median-first-answer]").inner_text()
    assert orm(lambda: Thread.objects.get().answered_post_id) == staff_post.pk
    assert dialogs == []
    for page in (ada, carol):
        assert _violations(page) == []


def test_xss_payloads_open_no_dialog_and_break_no_csp_rule(world: World, server: Uvicorn, browser: Browser) -> None:
    def seed() -> int:
        mallory = make_user("mallory", first_name=XSS, last_name=XSS)
        learning_services.enrollment_request(user=mallory, course=world.site.course)
        lesson = world.site.lessons[0]
        place = services.readable_place(mallory, lesson_id=lesson.pk)
        thread = services.thread_create(user=mallory, place=place, kind="question", title=XSS,
                                        body=XSS + "\n\n[click](javascript:alert(4))")
        found, where = services.thread_for(mallory, thread.pk)
        services.reply_create(user=mallory, thread=found, place=where, body=XSS + "\n\n> " + XSS)
        services.reply_create(user=mallory, thread=found, place=where, body="quoting", quoted_id=found.opening_id)
        return thread.pk

    thread_id = orm(seed)
    dialogs: list[str] = []
    for session in (world.learner_session, world.staff_session):
        page = _tab(browser, server, session, dialogs)
        _open(page, LESSON)
        page.click(f'[data-thread-id="{thread_id}"] [data-expand]')
        page.wait_for_selector(f'[data-thread-id="{thread_id}"] [data-reply-form]', timeout=WAIT_MS)
        page.click("[data-quote]")
        _open(page, f"/p/discussions/threads/{thread_id}/")
        for link in page.locator("[data-post-body] a").all():
            link.click(no_wait_after=True)
        assert _violations(page) == []
        _open(page, f"/p/discussions/courses/{world.site.course.pk}/")
        if session == world.staff_session:
            page.goto(f"/admin/discussions/course/{world.site.course.pk}/")
            assert page.locator("[data-unanswered-queue]").count() == 1
    assert dialogs == []


def test_show_more_appends_the_next_threads_and_new_ones_are_counted_live(world: World, server: Uvicorn, browser: Browser) -> None:
    def seed() -> None:
        bob = make_user("bella", first_name="Bella")
        learning_services.enrollment_request(user=bob, course=world.site.course)
        where = services.readable_place(bob, lesson_id=world.site.lessons[0].pk)
        for n in range(12):
            services.thread_create(user=bob, place=where, kind="question", title=f"Question {n}", body="?")

    orm(seed)
    dialogs: list[str] = []
    page = _tab(browser, server, world.learner_session, dialogs)
    _open(page, LESSON)
    assert page.locator("[data-thread]").count() == 10 and page.locator("[data-thread] >> text=Question 0").count() == 0
    assert page.locator("[data-thread-count]").inner_text() == "12"
    page.click("[data-show-more]")
    page.wait_for_selector("[data-thread] >> text=Question 0", timeout=WAIT_MS)
    assert page.locator("[data-thread]").count() == 12
    assert page.locator("[data-show-more]").count() == 0 and page.url.endswith(LESSON)
    # A thread asked elsewhere arrives live at the top, and the total counts it.
    def ask_live() -> None:
        bob = Thread.objects.first().author
        where = services.readable_place(bob, lesson_id=world.site.lessons[0].pk)
        services.thread_create(user=bob, place=where, kind="discussion", title="Arrived live", body="!")

    orm(ask_live)
    page.wait_for_selector("[data-thread]:first-child >> text=Arrived live", timeout=WAIT_MS)
    assert page.locator("[data-thread-count]").inner_text() == "13"
    assert dialogs == [] and _violations(page) == []
