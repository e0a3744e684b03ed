"""The "Due dates" course staff tool: per lesson, who it is due for and who is late, in the
staff member's scope, by cohort, at a fixed query count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import DueRule
from learning import access
from learning.date_staff_views import course_due_report
from learning.models import Cohort, Enrollment, LessonProgress
from tests.courses.helpers import Tree, logged_in, make_lesson
from tests.learning.staff_world import course_editor

pytestmark = pytest.mark.django_db


def enroll_many(tree: Tree, count: int, *, cohort: Cohort | None, activated: Any, prefix: str = "l") -> list[Any]:
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"{prefix}{index:04d}", first_name="Learner", last_name=f"{prefix}{index:04d}")
         for index in range(count)]
    )
    Enrollment.objects.bulk_create([
        Enrollment(user=user, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=activated, cohort=cohort)
        for user in users
    ])
    return users


def test_report_splits_due_overdue_and_completed_by_cohort(tree: Tree) -> None:
    now = timezone.now()
    spring = Cohort.objects.create(course=tree.python, name="Spring", starts_on=(now - timedelta(days=10)).date())
    autumn = Cohort.objects.create(course=tree.python, name="Autumn", starts_on=(now + timedelta(days=10)).date())
    essay = make_lesson(tree.python, "Essay", slug="essay", due_rule=DueRule.AFTER_COHORT_START, due_days=5)
    late, done = enroll_many(tree, 2, cohort=spring, activated=now, prefix="s")
    (early,) = enroll_many(tree, 1, cohort=autumn, activated=now, prefix="a")
    LessonProgress.objects.create(user=done, lesson=essay, course=tree.python, completed_at=now)
    who = access.viewer(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    (entry,) = course_due_report(who=who, course=tree.python, now=now)
    assert (entry.title, entry.completed) == ("Essay", 1)
    assert [(row.name, row.cohort, row.days_late) for row in entry.overdue] == [("Learner s0000", "Spring", 5)]
    assert [(row.name, row.cohort) for row in entry.due] == [("Learner a0000", "Autumn")]
    (only_autumn,) = course_due_report(who=who, course=tree.python, now=now, cohort_id=autumn.pk)
    assert (only_autumn.overdue, len(only_autumn.due), only_autumn.completed) == ([], 1, 0)
    assert late.pk and early.pk


def page_queries(client: Any, url: str) -> tuple[int, str]:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_due_dates_page_costs_the_same_at_10_and_200_learners(tree: Tree) -> None:
    now = timezone.now()
    make_lesson(tree.python, "Essay", slug="essay", due_rule=DueRule.FIXED, due_at=now - timedelta(days=2, hours=1))
    make_lesson(tree.python, "Review", slug="review", due_rule=DueRule.AFTER_ENROLLMENT, due_days=3)
    client = logged_in(course_editor("alice_editor", tree.python))
    url = f"/admin/learning/courses/{tree.python.pk}/due-dates/"
    enroll_many(tree, 10, cohort=None, activated=now)
    at_10, html = page_queries(client, url)
    assert html.count("data-overdue-row") == 10 and html.count("data-due-row") == 10
    enroll_many(tree, 190, cohort=None, activated=now, prefix="m")
    at_200, html = page_queries(client, url)
    assert html.count("data-overdue-row") == 200 and ">2</td>" in html
    assert at_200 == at_10


def test_due_dates_page_follows_the_staff_rule(tree: Tree, learner: Any) -> None:
    other = course_editor("bruno_editor", tree.sql)
    refused = logged_in(other).get(f"/admin/learning/courses/{tree.python.pk}/due-dates/")
    assert (refused.status_code, refused.url) == (302, "/admin/")  # Wagtail's answer to PermissionDenied
    assert logged_in(other).get("/admin/learning/courses/999999/due-dates/").status_code == 404
    own = logged_in(course_editor("alice_editor", tree.python))
    page = own.get(f"/admin/learning/courses/{tree.python.pk}/due-dates/", {"cohort": "nonsense"})
    assert page.status_code == 200 and "No lesson of this course has a due date" in page.content.decode()
