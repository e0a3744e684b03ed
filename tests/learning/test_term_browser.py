"""Run a term, end to end in Chromium (issue 22): a teaching team runs a two-cohort course.

One story against a real uvicorn server on the test database (embedded mode), each person in
their own browser context with their session as a cookie; the world is built, the reminders run
(with an injected clock) and the queued tasks run (as the worker would) on a worker thread,
because Django refuses ORM calls on the thread where Playwright's event loop runs.

- Spring started 10 days ago (ada), Autumn starts in 5 days (bob, enrolled 6 days ago).
  Lesson 2 opens 7 days after the learner's start (drip), Lesson 3 is due 3 days after the
  enrollment, the quiz 5 days after the cohort start. Pass grade 90; certificates require it.
- Drip: bob sees "Opens on ..." and cannot open Lesson 2; ada can.
- The teacher's "Due dates" tab, scoped by the cohort filter.
- ada's dashboard shows the quiz overdue; the reminders run: her notification arrives live, once.
- ada completes every lesson and the quiz at 75% (late): no certificate (75 < 90).
- The teacher, from the staff tabs, opens the Gradebook, filters by cohort, sees the late mark,
  overrides to 95 with a reason, and exports the CSV (downloaded, parsed).
- The certificate is issued; ada's "My grades" says 95% and passed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from playwright.sync_api import Browser, BrowserContext, Page

from courses.models import CoursePage, LessonPage
from learning import cohorts, services
from learning.models import Enrollment, Notification
from learning.reminders import ReminderRun, send_date_reminders
from plugins.certificates.models import Certificate, CourseCertificateSettings
from tests.plugins.quizzes.helpers import make_quiz
from tests.realtime.conftest import World, world  # noqa: F401  (fixture)
from tests.realtime.support import Uvicorn, login_cookie, make_user
from tests.realtime.test_browser import WAIT_MS, browser, server  # noqa: F401  (fixtures)
from tests.tasks.conftest import RanTask, run_queued_tasks

pytestmark = pytest.mark.browser

T = TypeVar("T")
ISSUE_TASK = "plugins.certificates.tasks.issue_certificate"
PASS_GRADE = 90
OVERDUE_TITLE = "Python: \u201cCheck yourself\u201d is overdue"


def _in_thread(call: Callable[[], T]) -> T:
    """Run ORM work off the thread where Playwright's event loop runs (Django refuses it there)."""

    def work() -> T:
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _republish(page: LessonPage, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(page, name, value)
    page.save_revision().publish()


def _term(term_world: World) -> dict[str, Any]:
    """The course's term: two cohorts, a teacher, ada in Spring, bob in Autumn, dated lessons, a
    due quiz, a pass grade that certificates require."""
    course, staff = term_world.site.course, term_world.staff
    today = timezone.localdate()
    spring = cohorts.cohort_create(course=course, by=staff, name="Spring", starts_on=today - timedelta(days=10))
    autumn = cohorts.cohort_create(course=course, by=staff, name="Autumn", starts_on=today + timedelta(days=5))
    ada = Enrollment.objects.get(user=term_world.learner, course=course)
    cohorts.enrollment_move(enrollment=ada, cohort=spring, by=staff)
    bob = services.enrollment_add(user=term_world.other, course=course, by=staff, cohort=autumn).enrollment
    Enrollment.objects.filter(pk=bob.pk).update(activated_at=timezone.now() - timedelta(days=6))
    teacher = make_user("tina", first_name="Tina")
    cohorts.role_grant(course=course, user=teacher, role="teacher", by=staff)
    _client, teacher_session = login_cookie(teacher)
    assistant = make_user("alex", first_name="Alex")
    cohorts.role_grant(course=course, user=assistant, role="assistant", by=staff, cohort=autumn)
    _client, assistant_session = login_cookie(assistant)

    _lesson1, lesson2, lesson3 = term_world.site.lessons
    _republish(LessonPage.objects.get(pk=lesson2.pk), release_rule="after_start", release_days=7)
    _republish(LessonPage.objects.get(pk=lesson3.pk), due_rule="after_enrollment", due_days=3)
    quiz = make_quiz(course, due_rule="after_cohort_start", due_days=5)
    quiz.save_revision().publish()
    CoursePage.objects.filter(pk=course.pk).update(pass_grade=PASS_GRADE)
    CourseCertificateSettings.objects.create(course=course, require_pass_grade=True)
    # The set-up's own tasks (search index, emails; queued by this process): not the story.
    get_broker().purge_queue()
    ORM(list_key=Conf.PREFIX).purge_queue()
    return {
        "spring": spring, "autumn": autumn, "teacher_session": teacher_session,
        "assistant_session": assistant_session, "quiz": quiz,
        "lessons": [lesson2, lesson3],
    }


def _context(browser: Browser, server: Uvicorn, session: str) -> BrowserContext:  # noqa: F811
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
    return context


def _run_tasks() -> list[RanTask]:
    """The tasks the server queued, run as the worker would. The server runs embedded (no
    REDIS_URL), so its queue is the ORM broker's in the test database, whatever this process
    uses."""
    return run_queued_tasks(ORM(list_key=Conf.PREFIX))


def _due_rows(page: Page, lesson_id: int, kind: str) -> list[list[str]]:
    """The learner, cohort and days-late cells of the Due dates rows (``overdue`` or ``due``)."""
    rows = page.locator(f'[data-due-lesson="{lesson_id}"] tr[data-{kind}-row]')
    return [[cells[0], cells[1], cells[3]] for cells in (row.locator("td").all_inner_texts() for row in rows.all())]


def _filter(page: Page, select: str, label: str) -> None:
    page.select_option(select, label=label)
    with page.expect_navigation(timeout=WAIT_MS):
        page.get_by_role("button", name="Filter").click()


def test_a_teaching_team_runs_a_two_cohort_term(
    world: World, server: Uvicorn, browser: Browser, tmp_path: Path  # noqa: F811
) -> None:
    term = _in_thread(lambda: _term(world))
    course_id, quiz = world.site.course.pk, term["quiz"]
    lesson2, lesson3 = term["lessons"]
    spring_start = timezone.localdate() - timedelta(days=10)
    autumn_start = timezone.localdate() + timedelta(days=5)

    # 1. Drip: Lesson 2 opens 7 days after the learner's start.
    bob = _context(browser, server, world.other_session).new_page()
    bob.goto("/courses/python/")
    opens = bob.locator(f'li[data-lesson-id="{lesson2.pk}"] [data-opens]')
    opens.wait_for(timeout=WAIT_MS)
    assert "Opens" in opens.inner_text()
    bob.goto("/courses/python/lesson-2/")
    assert bob.locator('[data-lesson-state="not-open"]').count() == 1
    opens_at = bob.locator("[data-opens-at]")
    assert opens_at.get_attribute("datetime", timeout=WAIT_MS).startswith((autumn_start + timedelta(days=7)).isoformat())
    assert "Opens on" in bob.locator('[data-lesson-state="not-open"]').inner_text()
    assert bob.locator("form[data-complete-lesson]").count() == 0

    ada_context = _context(browser, server, world.learner_session)
    ada = ada_context.new_page()
    ada.goto("/courses/python/lesson-2/")
    ada.locator("form[data-complete-lesson]").wait_for(timeout=WAIT_MS)
    assert ada.locator('[data-lesson-state="not-open"]').count() == 0

    # 5 (before anyone completes): the teacher's Due dates tab, scoped by the cohort filter.
    teacher = _context(browser, server, term["teacher_session"]).new_page()
    teacher.goto(f"/admin/learning/courses/{course_id}/due-dates/")
    teacher.locator("[data-course-due-dates]").wait_for(timeout=WAIT_MS)
    assert _due_rows(teacher, quiz.pk, "overdue") == [["ada", "Spring", "5"]]
    assert _due_rows(teacher, quiz.pk, "due") == [["bob", "Autumn", "—"]]
    assert _due_rows(teacher, lesson3.pk, "overdue") == [["bob", "Autumn", "3"]]
    assert _due_rows(teacher, lesson3.pk, "due") == [["ada", "Spring", "—"]]
    _filter(teacher, "#due-cohort", f"Spring (starts {spring_start.isoformat()})")
    assert _due_rows(teacher, quiz.pk, "overdue") == [["ada", "Spring", "5"]]
    assert _due_rows(teacher, quiz.pk, "due") == []
    assert _due_rows(teacher, lesson3.pk, "overdue") == []
    assert _due_rows(teacher, lesson3.pk, "due") == [["ada", "Spring", "—"]]
    _filter(teacher, "#due-cohort", f"Autumn (starts {autumn_start.isoformat()})")
    assert _due_rows(teacher, quiz.pk, "overdue") == []
    assert _due_rows(teacher, quiz.pk, "due") == [["bob", "Autumn", "—"]]
    assert _due_rows(teacher, lesson3.pk, "overdue") == [["bob", "Autumn", "3"]]
    assert _due_rows(teacher, lesson3.pk, "due") == []

    # An assistant of the Autumn cohort only sees bob, whatever the filter.
    assistant = _context(browser, server, term["assistant_session"]).new_page()
    assistant.goto(f"/admin/learning/courses/{course_id}/due-dates/")
    assistant.locator("[data-course-due-dates]").wait_for(timeout=WAIT_MS)
    assert _due_rows(assistant, quiz.pk, "overdue") == []
    assert _due_rows(assistant, quiz.pk, "due") == [["bob", "Autumn", "—"]]
    assert _due_rows(assistant, lesson3.pk, "overdue") == [["bob", "Autumn", "3"]]
    assert _due_rows(assistant, lesson3.pk, "due") == []
    assistant.goto(f"/admin/learning/courses/{course_id}/gradebook/?cohort={term['spring'].pk}")
    assistant.locator("[data-gradebook-table]").wait_for(timeout=WAIT_MS)
    assert assistant.locator("[data-gradebook-table] tbody tr[data-learner]").count() == 0
    assistant.goto(f"/admin/learning/courses/{course_id}/gradebook/")
    assert assistant.locator("[data-gradebook-table] tbody tr[data-learner]").all_inner_texts()[0].split()[0] == "bob"
    assert assistant.locator("[data-gradebook-table] tbody tr[data-learner]").count() == 1

    # 2. ada's dashboard: the quiz is overdue; the reminders' notification arrives live, once.
    ada.goto("/dashboard/")
    ada.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)
    overdue = ada.locator('[data-due-list="overdue"] li')
    assert overdue.count() == 1
    assert overdue.first.get_attribute("data-due-lesson") == str(quiz.pk)
    assert "Check yourself" in overdue.first.inner_text()
    unread = int(ada.locator("[data-unread-total]").get_attribute("data-unread-total") or 0)

    now = timezone.now()
    first: ReminderRun = _in_thread(lambda: send_date_reminders(now=now))
    assert (first.sent, first.already_sent) == (2, 0)  # ada: the quiz; bob: Lesson 3
    ada.wait_for_function(
        f"() => document.querySelector('[data-unread-total]').dataset.unreadTotal === '{unread + 1}'", timeout=WAIT_MS,
    )
    assert ada.locator("[data-unread-count]").inner_text() == str(unread + 1)
    again: ReminderRun = _in_thread(lambda: send_date_reminders(now=now + timedelta(hours=1)))
    assert (again.sent, again.already_sent) == (0, 2)
    ada.reload()
    notes = ada.locator("[data-notification-list] li", has_text=OVERDUE_TITLE)
    notes.first.wait_for(timeout=WAIT_MS)
    assert notes.count() == 1
    assert notes.first.locator("a").get_attribute("href") == "/courses/python/check-yourself/"
    assert ada.locator("[data-unread-count]").inner_text() == str(unread + 1)
    assert _in_thread(lambda: Notification.objects.filter(user=world.learner, kind="lesson_overdue").count()) == 1
    bob.goto("/dashboard/")
    bob_overdue = bob.locator('[data-due-list="overdue"] li')
    bob_overdue.first.wait_for(timeout=WAIT_MS)
    assert [item.get_attribute("data-due-lesson") for item in bob_overdue.all()] == [str(lesson3.pk)]
    assert bob.locator("[data-notification-list] li", has_text="Python: \u201cLesson 3\u201d is overdue").count() == 1
    assert bob.locator("[data-notification-list] li", has_text="Check yourself").count() == 0

    # 3. ada completes every lesson, then the quiz at 75% (3 of 4; the quiz passes at 75, the
    # course at 90): the course is complete, the certificate is not issued.
    for number in (1, 2, 3):
        ada.goto(f"/courses/python/lesson-{number}/")
        with ada.expect_navigation(timeout=WAIT_MS):
            ada.locator("form[data-complete-lesson] button[type=submit]").click()
    ada.goto("/courses/python/check-yourself/")
    ada.locator("form[data-quiz-start] button[type=submit]").click()
    ada.wait_for_selector("form[data-quiz-form]", timeout=WAIT_MS)
    ada.check('input[name="q-q-single"][value="c-paris"]')
    ada.check('input[name="q-q-multi"][value="c-two"]')
    ada.check('input[name="q-q-multi"][value="c-three"]')
    ada.fill('input[name="q-q-short"]', "Accepted-Answer-Secret")
    ada.fill('input[name="q-q-number"]', "41")
    ada.locator("form[data-quiz-form] button[type=submit]").click()
    ada.wait_for_selector('[data-quiz-result][data-passed="true"]', timeout=WAIT_MS)
    assert "Attempt 1: 75% · passed" in ada.locator("[data-quiz-result] h2").inner_text()
    status = _in_thread(lambda: Enrollment.objects.get(user=world.learner, course_id=course_id).status)
    assert status == Enrollment.Status.COMPLETED
    ran = _in_thread(_run_tasks)
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["skipped"]
    assert _in_thread(lambda: Certificate.objects.filter(course_id=course_id).count()) == 0

    ada.goto("/dashboard/")
    ada.wait_for_selector('[data-live-status][data-state="open"]', timeout=WAIT_MS)

    # The teacher: from the staff tabs to the Gradebook, filtered by cohort.
    teacher.get_by_role("link", name="Gradebook").click()
    teacher.locator("[data-gradebook-table]").wait_for(timeout=WAIT_MS)
    assert teacher.locator("[data-gradebook-table] tbody tr[data-learner]").count() == 2
    _filter(teacher, "#gradebook-cohort", "Spring")
    rows = teacher.locator("[data-gradebook-table] tbody tr[data-learner]")
    assert rows.count() == 1
    row = teacher.locator(f'tr[data-learner="{world.learner.pk}"]')
    cell = row.locator(f'td[data-cell="{quiz.pk}"]')
    assert cell.get_attribute("data-state") == "graded"
    assert cell.locator('[aria-label="late"]').count() == 1
    assert cell.inner_text().split()[0] == "75%"
    assert row.locator("[data-course-grade]").inner_text() == "75%"
    assert row.locator("[data-result]").inner_text() == "not passed"

    cell.locator("summary").click()
    cell.locator('input[name="grade"]').fill("95")
    cell.locator('input[name="reason"]').fill("Question 4 accepted on appeal")
    with teacher.expect_navigation(timeout=WAIT_MS):
        cell.get_by_role("button", name="Save").click()
    teacher.get_by_text("Grade set to 95%.").wait_for(timeout=WAIT_MS)
    assert "cohort=" in teacher.url  # back to the filtered grid
    row = teacher.locator(f'tr[data-learner="{world.learner.pk}"]')
    cell = row.locator(f'td[data-cell="{quiz.pk}"]')
    assert cell.inner_text().split()[0] == "95%"
    assert cell.locator('[aria-label="overridden"]').get_attribute("title") == "overridden: Question 4 accepted on appeal"
    assert row.locator("[data-course-grade]").inner_text() == "95%"
    assert row.locator("[data-result]").inner_text() == "passed"

    # ada's open dashboard hears of it live.
    ada.locator("[data-notification-list] li", has_text="Your grade on Check yourself is now 95%").wait_for(
        timeout=WAIT_MS
    )

    with teacher.expect_download(timeout=WAIT_MS) as download_info:
        teacher.locator('[data-export="csv"]').click()
    download = download_info.value
    assert download.suggested_filename == f"course-{course_id}-gradebook.csv"
    saved = tmp_path / "gradebook.csv"
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [
        "Learner", "Username", "Email", "Cohort", "1. Check yourself", "Course grade", "Result", "Late", "Overridden",
    ]
    assert len(table) == 2  # the Spring cohort only
    learner_row = dict(zip(table[0], table[1], strict=True))
    assert learner_row["Username"] == "ada"
    assert learner_row["Cohort"] == "Spring"
    assert float(learner_row["1. Check yourself"]) == 95
    assert float(learner_row["Course grade"]) == 95
    assert (learner_row["Result"], learner_row["Late"], learner_row["Overridden"]) == ("passed", "1", "1")

    # 4. The passing override issues the certificate (the worker's task); ada's "My grades".
    ran = _in_thread(_run_tasks)
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["rendered"]
    holders = _in_thread(lambda: list(Certificate.objects.filter(course_id=course_id).values_list("user_id", flat=True)))
    assert holders == [world.learner.pk]
    ada.goto("/dashboard/grades/")
    entry = ada.locator(f'[data-grades-course="{course_id}"]')
    entry.wait_for(timeout=WAIT_MS)
    assert " ".join(entry.locator("[data-course-grade]").inner_text().split()) == (
        f"Course grade: 95%; the pass grade is {PASS_GRADE}%: passed."
    )
    item = entry.locator(f'tr[data-grade-item="{quiz.pk}"]')
    assert item.locator("[data-late]").inner_text() == "handed in late"
    assert item.locator("[data-overridden]").inner_text() == "set by staff: Question 4 accepted on appeal"
