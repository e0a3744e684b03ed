"""Cohorts in Chromium: a teacher (a course role, no page permissions) filters the learner list
by cohort, then moves a learner to another cohort from the learner's page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser

from learning import cohorts, services
from learning.models import Enrollment
from tests.realtime.conftest import World
from tests.realtime.support import Uvicorn, login_cookie, make_user
from tests.realtime.test_browser import WAIT_MS, browser, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _term(world: World) -> dict[str, Any]:
    """ada self-enrolled (the default cohort), bob placed in "Autumn" by staff, and a teacher
    of the course (logged in)."""
    autumn = cohorts.cohort_create(course=world.site.course, by=world.staff, name="Autumn")
    bob = services.enrollment_add(user=world.other, course=world.site.course, by=world.staff, cohort=autumn).enrollment
    teacher = make_user("tina")
    cohorts.role_grant(course=world.site.course, user=teacher, role="teacher", by=world.staff)
    _client, session = login_cookie(teacher)
    return {"autumn": autumn, "bob": bob, "default": cohorts.default_cohort(world.site.course), "session": session}


def test_teacher_filters_learners_by_cohort_and_moves_one(
    world: World, server: Uvicorn, browser: Browser  # noqa: F811
) -> None:
    with ThreadPoolExecutor(1) as pool:  # Django refuses ORM calls on playwright's event-loop thread
        term = pool.submit(_term, world).result()
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1000})
    context.add_cookies([{"name": "sessionid", "value": term["session"], "url": server.url}])
    page = context.new_page()
    page.goto(f"/admin/learning/courses/{world.site.course.pk}/learners/")
    table = page.locator("[data-learner-table]")
    table.wait_for(timeout=WAIT_MS)
    assert table.locator("tbody tr").count() == 2

    page.select_option("#learner-cohort", label="Autumn")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**cohort={term['autumn'].pk}**", timeout=WAIT_MS)
    rows = page.locator("[data-learner-table] tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("[data-cohort]").inner_text() == "Autumn"
    assert "bob@example.com" in rows.first.inner_text()

    rows.first.get_by_role("link").first.click()
    page.locator("[data-move-form]").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-learner-cohort]").inner_text() == "Autumn"
    page.select_option("#move-cohort", value=str(term["default"].pk))
    page.get_by_role("button", name="Move").click()
    page.get_by_text(f"is now in {term['default'].name}").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-learner-cohort]").inner_text() == term["default"].name
    with ThreadPoolExecutor(1) as pool:
        moved = pool.submit(lambda: Enrollment.objects.get(pk=term["bob"].pk).cohort_id).result()
    assert moved == term["default"].pk
