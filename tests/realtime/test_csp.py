"""The Content-Security-Policy of the learner pages, in headless Chromium against a real server.

Every learner page (catalog, course, lesson with every block kind, dashboard, sign-up, login and
the password pages) loads with zero CSP violations, anonymous and logged in; the live updates
still arrive over the WebSocket (connect-src 'self'); an editor's Wagtail userbar works under
the policy; the Wagtail admin (excluded from the policy) works too. Violations are collected
both from the console and from ``securitypolicyviolation`` events.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import Browser, Page

from courses.models import LessonPage
from tests.courses.helpers import make_image
from tests.realtime.conftest import World
from tests.realtime.support import PASSWORD, Uvicorn, login_cookie
from tests.realtime.test_browser import WAIT_MS, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

# Records every violation the page reports, from the first script on (before the page's own).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

LEARNER_PAGES = [
    "/courses/",
    "/courses/python/",
    "/courses/python/lesson-1/",
    "/courses/python/everything/",
    "/dashboard/",
]
ANONYMOUS_PAGES = [
    "/courses/",
    "/courses/python/",
    "/courses/python/lesson-1/",
    "/accounts/signup/",
    "/accounts/login/",
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/bad-token/",
]


@pytest.fixture
def rich_lesson(world: World) -> LessonPage:
    """A lesson with one block of every kind the learner pages render."""
    image = make_image("Diagram")
    lesson = world.site.course.add_child(instance=LessonPage(
        title="Everything", slug="everything", summary="Every block.",
        body=[
            {"type": "heading", "value": {"text": "A heading", "level": "h2"}},
            {"type": "paragraph", "value": "<p>Some <b>bold</b> text and <code>code</code>.</p>"},
            {"type": "code", "value": {"language": "python", "code": "print('hi')", "caption": "Hello"}},
            {"type": "callout", "value": {"kind": "tip", "title": "Tip", "body": "<p>Careful.</p>"}},
            {"type": "image", "value": {"image": image.pk, "alt_text": "A diagram", "caption": "Figure 1"}},
            {"type": "video", "value": {"video": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "caption": "Talk"}},
        ],
    ))
    lesson.save_revision().publish()
    return lesson


def _watch(page: Page) -> list[str]:
    """Collect CSP messages from the console (and page errors) of ``page``."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))
    return seen


def _violations(page: Page, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *console]


def _context(browser: Browser, server: Uvicorn, session: str | None = None) -> Any:  # noqa: F811
    context = browser.new_context(base_url=server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    if session:
        context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    return context


def test_learner_pages_have_a_strict_policy_and_no_violations(
    world: World, rich_lesson: LessonPage, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    for session, paths in ((world.learner_session, LEARNER_PAGES), (None, ANONYMOUS_PAGES)):
        context = _context(browser, server, session)
        page = context.new_page()
        console = _watch(page)
        for path in paths:
            response = page.goto(path)
            assert response is not None
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, (path, policy)
            assert "unsafe-inline" not in policy, path
            if session:
                page.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
            page.wait_for_load_state("load")
            assert _violations(page, console) == [], path
        context.close()


def test_live_update_arrives_under_the_policy(world: World, server: Uvicorn, browser: Browser) -> None:  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    context = _context(browser, server, world.learner_session)
    page = context.new_page()
    console = _watch(page)
    page.goto("/dashboard/")
    page.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)

    def notify() -> None:
        from learning import services

        services.notification_create(user=world.learner, kind="announcement", title="Under the policy")
        connection.close()

    # Playwright's sync API runs an event loop in this thread: the ORM goes to another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(notify).result()
    page.wait_for_selector("[data-toasts] >> text=Under the policy", timeout=WAIT_MS)
    assert page.locator("[data-unread-count]").first.inner_text() != ""
    assert _violations(page, console) == []
    context.close()


@pytest.fixture
def editor_session(world: World) -> str:
    """The session of a Wagtail editor (Editors group), made before the browser starts."""
    editor = get_user_model().objects.create_user("ed", "ed@example.com", PASSWORD)
    editor.groups.add(Group.objects.get(name="Editors"))
    return login_cookie(editor)[1]


def test_editor_userbar_works_under_the_policy(
    world: World, rich_lesson: LessonPage, editor_session: str, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    context = _context(browser, server, editor_session)
    page = context.new_page()
    console = _watch(page)
    for path in ("/courses/python/", f"/courses/python/{rich_lesson.slug}/"):
        response = page.goto(path)
        assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
        # Wagtail's userbar: a web component whose script opens the menu of page actions.
        trigger = page.locator("wagtail-userbar [data-wagtail-userbar-trigger]")
        trigger.click()
        edit = page.locator("wagtail-userbar #wagtail-userbar-items").get_by_role("menuitem", name="Edit this page")
        edit.wait_for(state="visible", timeout=WAIT_MS)
        assert _violations(page, console) == [], path
    # The userbar's link leads to the page's editor in the admin (outside the policy).
    edit.click()
    page.wait_for_selector("#id_title", timeout=WAIT_MS)
    assert page.locator("#id_title").input_value() == "Everything"
    context.close()


def test_wagtail_admin_is_outside_the_strict_policy_and_works(
    world: World, rich_lesson: LessonPage, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    context = _context(browser, server, world.staff_session)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(f"/admin/pages/{rich_lesson.pk}/edit/")
    assert response is not None and response.status == 200
    assert "content-security-policy" not in response.headers
    # The editor's own scripts run: the page's title field is filled in by the admin's form.
    page.wait_for_selector("#id_title", timeout=WAIT_MS)
    assert page.locator("#id_title").input_value() == "Everything"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    context.close()


@pytest.fixture
def consent_app(world: World) -> Any:
    """A public OAuth app sending learners back to https://app.example/callback."""
    from learning import oauth

    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    return oauth.application_create(by=admin, name="Study Buddy", client_type="public",
                                    redirect_uris="https://app.example/callback").application


def test_the_oauth_consent_page_sends_the_learner_back_to_the_app_under_the_policy(
    world: World, consent_app: Any, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    """The Allow post redirects to the app's own address, which a browser checks against
    form-action: the page allows that one origin, and nothing else changes."""
    import base64
    import hashlib
    from urllib.parse import parse_qs, urlencode, urlsplit

    app = consent_app
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    context = _context(browser, server, world.learner_session)
    arrived: list[str] = []

    def the_app(route: Any) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="the app")

    context.route("https://app.example/**", the_app)
    page = context.new_page()
    console = _watch(page)
    query = urlencode({"response_type": "code", "client_id": app.client_id, "redirect_uri": "https://app.example/callback",
                       "scope": "read", "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"})
    response = page.goto(f"/o/authorize/?{query}")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "form-action 'self' https://app.example" in policy and "unsafe-inline" not in policy
    assert page.locator("[data-app-name]").inner_text() == "Study Buddy"
    page.wait_for_load_state("load")
    assert _violations(page, console) == []
    page.click("[data-allow]")
    page.wait_for_url("https://app.example/callback?**", timeout=WAIT_MS)
    assert len(arrived) == 1
    back = parse_qs(urlsplit(arrived[0]).query)
    assert back["state"] == ["s1"] and len(back["code"][0]) > 20
    assert _violations(page, console) == []
    context.close()
