"""What learners see of lesson dates and the reminders they get, with an injected clock.

The dashboard's "Due soon / Overdue", the course page's opens/due column (both at a fixed query
count), and the reminder schedule: due within 24 hours and overdue, each once per learner and
lesson, as a notification (pushed live) and an email (a task).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import CoursePage, DueRule, LessonPage, ReleaseRule
from learning import date_selectors, reminders, tasks
from learning.models import DateReminder, Enrollment, LessonProgress, Notification
from tests.courses.helpers import Tree, logged_in, make_course, make_lesson
from tests.learning.conftest import make_user

MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.get_default_timezone())


def dated_course(tree: Tree, slug: str, *, due_at: datetime, enrolled: list[Any], enrolled_at: datetime) -> tuple[CoursePage, LessonPage, LessonPage]:
    """A course with an essay due at ``due_at`` and a lesson due 3 days after enrollment."""
    course = make_course(tree.catalog, f"Course {slug}", slug=slug)
    essay = make_lesson(course, f"Essay {slug}", slug="essay", due_rule=DueRule.FIXED, due_at=due_at)
    review = make_lesson(course, f"Review {slug}", slug="review", due_rule=DueRule.AFTER_ENROLLMENT, due_days=3)
    for user in enrolled:
        Enrollment.objects.create(user=user, course=course, status=Enrollment.Status.ACTIVE, activated_at=enrolled_at)
    return course, essay, review


# --- Dashboard ------------------------------------------------------------------------------------


def test_due_lists_sort_overdue_and_due_soon(tree: Tree, learner: Any) -> None:
    course, essay, review = dated_course(tree, "c1", due_at=MOMENT - timedelta(hours=2), enrolled=[learner],
                                         enrolled_at=MOMENT - timedelta(days=1))
    lists = date_selectors.learner_due_lists(user=learner, now=MOMENT)
    assert [(item.lesson_id, item.overdue) for item in lists.overdue] == [(essay.pk, True)]
    assert [(item.lesson_id, item.due_at) for item in lists.due_soon] == [(review.pk, MOMENT + timedelta(days=2))]
    LessonProgress.objects.create(user=learner, lesson=essay, course=course, completed_at=MOMENT)
    lists = date_selectors.learner_due_lists(user=learner, now=MOMENT)
    assert (lists.overdue, [item.lesson_id for item in lists.due_soon]) == ([], [review.pk])
    # Due beyond the window: not on the dashboard.
    assert not date_selectors.learner_due_lists(user=learner, now=MOMENT - timedelta(days=30))


@pytest.mark.parametrize("count", [1, 10])
def test_dashboard_due_section_queries_fixed(
    count: int, tree: Tree, learner: Any, django_assert_num_queries: Any
) -> None:
    now = timezone.now()
    for index in range(count):
        dated_course(tree, f"c{index}", due_at=now - timedelta(hours=1), enrolled=[learner], enrolled_at=now)
    date_selectors.learner_due_lists(user=learner, now=now)  # warm the tree's caches
    # The enrollments in dated courses, their lessons, the completions.
    with django_assert_num_queries(3):
        lists = date_selectors.learner_due_lists(user=learner, now=now)
    assert (len(lists.overdue), len(lists.due_soon)) == (count, count)
    html = logged_in(learner).get("/dashboard/").content.decode()
    assert 'data-due-list="overdue"' in html and html.count("pill-overdue") == count
    assert html.count("data-due-lesson=") == 2 * count


def test_dashboard_without_due_dates_costs_nothing(tree: Tree, learner: Any, django_assert_num_queries: Any) -> None:
    Enrollment.objects.create(user=learner, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=MOMENT)
    date_selectors.learner_due_lists(user=learner, now=MOMENT)
    with django_assert_num_queries(0):
        assert not date_selectors.learner_due_lists(user=learner, now=MOMENT)
    assert "data-due-dates" not in logged_in(learner).get("/dashboard/").content.decode()


# --- Course page ----------------------------------------------------------------------------------


def test_course_page_shows_opens_due_and_overdue(tree: Tree, learner: Any) -> None:
    now = timezone.now()
    course, _essay, _review = dated_course(tree, "c1", due_at=now - timedelta(hours=1), enrolled=[learner],
                                         enrolled_at=now)
    make_lesson(course, "Later", slug="later", release_rule=ReleaseRule.AFTER_START, release_days=2)
    html = logged_in(learner).get("/courses/c1/").content.decode()
    assert html.count("data-overdue") == 1 and html.count("data-due>") == 2
    assert html.count("data-opens>") == 1 and "is-locked" in html
    # Visitors who are not enrolled see no dates.
    assert "data-lesson-dates" not in logged_in(make_user("visitor")).get("/courses/c1/").content.decode()


def page_queries(client: Any, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_course_page_dates_cost_two_queries_at_any_lesson_count(tree: Tree, learner: Any) -> None:
    now = timezone.now()
    course, _essay, _review = dated_course(tree, "c1", due_at=now, enrolled=[learner], enrolled_at=now)
    client = logged_in(learner)
    few = page_queries(client, "/courses/c1/")
    for index in range(8):
        make_lesson(course, f"Extra {index}", slug=f"extra-{index}", due_rule=DueRule.AFTER_ENROLLMENT, due_days=index)
    assert page_queries(client, "/courses/c1/") == few
    Enrollment.objects.create(user=learner, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now)
    assert page_queries(client, "/courses/c1/") - page_queries(client, "/courses/python-basics/") == 2


# --- Reminders ------------------------------------------------------------------------------------


def test_reminders_due_soon_then_overdue_each_once(
    tree: Tree, learner: Any, other_learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    due = MOMENT + timedelta(days=5)
    course, essay, _review = dated_course(tree, "c1", due_at=due, enrolled=[learner, other_learner],
                                          enrolled_at=MOMENT - timedelta(days=30))
    LessonProgress.objects.create(user=other_learner, lesson=essay, course=course, completed_at=MOMENT)
    assert reminders.send_date_reminders(now=due - timedelta(hours=25)) == reminders.ReminderRun(0, 0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = reminders.send_date_reminders(now=due - timedelta(hours=23))
    assert first == reminders.ReminderRun(sent=1, already_sent=0)
    assert len(callbacks) >= 2  # the notification's push and the email task, after commit
    assert reminders.send_date_reminders(now=due - timedelta(hours=22)) == reminders.ReminderRun(0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.send_date_reminders(now=due + timedelta(minutes=1)) == reminders.ReminderRun(1, 0)
        assert reminders.send_date_reminders(now=due + timedelta(minutes=16)) == reminders.ReminderRun(0, 1)
    assert list(DateReminder.objects.order_by("pk").values_list("user__username", "lesson_id", "kind")) == [
        ("ada", essay.pk, "due_soon"), ("ada", essay.pk, "overdue"),
    ]
    assert list(Notification.objects.order_by("pk").values_list("user__username", "kind", "title", "link")) == [
        ("ada", "lesson_due", "Course c1: “Essay c1” is due soon", "/courses/c1/essay/"),
        ("ada", "lesson_overdue", "Course c1: “Essay c1” is overdue", "/courses/c1/essay/"),
    ]
    # The emails, sent by the task (once each, whatever the retries).
    for reminder in DateReminder.objects.order_by("pk"):
        assert tasks.send_date_reminder_email(reminder_id=reminder.pk) == "sent"
        assert tasks.send_date_reminder_email(reminder_id=reminder.pk) == "already_sent"
    assert [message.subject for message in mail.outbox] == ["Due soon: Essay c1 (Course c1)", "Overdue: Essay c1 (Course c1)"]
    assert mail.outbox[0].to == ["ada@example.com"] and "/courses/c1/essay/" in mail.outbox[0].body


def test_reminders_skip_lessons_not_open_cancelled_learners_and_old_dues(tree: Tree, learner: Any) -> None:
    course = make_course(tree.catalog, "Drip", slug="drip")
    make_lesson(course, "Closed", slug="closed", release_rule=ReleaseRule.AFTER_START, release_days=10,
                due_rule=DueRule.AFTER_ENROLLMENT, due_days=5)
    make_lesson(course, "Old", slug="old", due_rule=DueRule.FIXED, due_at=MOMENT - timedelta(days=8))
    Enrollment.objects.create(user=learner, course=course, status=Enrollment.Status.ACTIVE, activated_at=MOMENT)
    cancelled = make_user("cal")
    Enrollment.objects.create(user=cancelled, course=course, status=Enrollment.Status.CANCELLED, activated_at=MOMENT)
    assert reminders.send_date_reminders(now=MOMENT + timedelta(days=5, hours=1)) == reminders.ReminderRun(0, 0)
    assert not Notification.objects.exists()


def test_email_task_skips_a_lesson_completed_meanwhile(tree: Tree, learner: Any) -> None:
    course, essay, _ = dated_course(tree, "c1", due_at=MOMENT, enrolled=[learner], enrolled_at=MOMENT)
    reminders.send_date_reminders(now=MOMENT + timedelta(hours=1))
    LessonProgress.objects.create(user=learner, lesson=essay, course=course, completed_at=MOMENT)
    reminder = DateReminder.objects.get(lesson=essay)
    assert tasks.send_date_reminder_email(reminder_id=reminder.pk) == "skipped"
    assert mail.outbox == []


# --- Calendar feed --------------------------------------------------------------------------------


def test_calendar_feed_lists_due_dates_and_regenerating_revokes_the_old_url(tree: Tree, learner: Any) -> None:
    from icalendar import Calendar

    now = timezone.now()
    dated_course(tree, "c1", due_at=now + timedelta(days=1), enrolled=[learner],
                                         enrolled_at=now)
    dated_course(tree, "c2", due_at=now, enrolled=[make_user("someone")], enrolled_at=now)  # not theirs
    client = logged_in(learner)
    page = client.get("/dashboard/calendar/")
    assert page.status_code == 200 and "data-calendar-create" in page.content.decode()
    assert client.post("/dashboard/calendar/", {"action": "create"}).status_code == 302
    html = client.get("/dashboard/calendar/").content.decode()
    feed_url = html.split('data-calendar-url size="60"')[0].rsplit('value="', 1)[1].split('"')[0]
    path = feed_url.removeprefix("http://testserver")
    assert path.startswith("/calendar/") and path.endswith(".ics")
    from django.test import Client

    response = Client().get(path)  # no session: calendar apps fetch the URL alone
    assert (response.status_code, response["Content-Type"]) == (200, "text/calendar; charset=utf-8")
    events = [component for component in Calendar.from_ical(response.content).walk("VEVENT")]
    assert [(str(event["summary"]), event.decoded("dtstart")) for event in events] == [
        ("Due: Essay c1 (Course c1)", (now + timedelta(days=1)).replace(microsecond=0)),
        ("Due: Review c1 (Course c1)", (now + timedelta(days=3)).replace(microsecond=0)),
    ]
    assert str(events[0]["url"]).endswith("/courses/c1/essay/")
    assert client.post("/dashboard/calendar/", {"action": "regenerate"}).status_code == 302
    assert Client().get(path).status_code == 404
    assert Client().get("/calendar/not-a-token.ics").status_code == 404
    assert client.post("/dashboard/calendar/", {"action": "nonsense"}).status_code == 400
    assert Client().get("/dashboard/calendar/").status_code == 302  # login required
