"""Every API list runs a fixed number of queries: the same at 1 and at 100 items (one page of
100), counted exactly. Requests are warm (the session, Wagtail's site root paths and the
live-update cursor are in the cache after a first request), as in a running server."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from courses.models import CourseIndexPage
from learning.models import Enrollment, LessonProgress, Notification
from tests.courses.helpers import add_page, make_home
from tests.learning.api.conftest import session_client, token_client
from tests.learning.bulk import bulk_courses

pytestmark = pytest.mark.django_db

SIZES = [1, 100]
PAGE = "page_size=100"
# Who the caller is: a session learner costs the user row (the session is cached); a token
# learner costs the token joined with its user, and the conditional UPDATE of its last use.
SESSION_USER = 1
TOKEN_USER = 2
# The access policy's view restrictions (learning.access.refused_paths): read from the shared
# snapshot (courses.restrictions), so a warm request runs no query for them.
RESTRICTIONS = 0
# Courses: the page of rows (instructor joined), their tags; the caller's enrollments in them.
COURSE_ROWS = 2
CALLER_ENROLLMENTS = 1
# Lessons: the page of rows (course id as a subquery); the caller's completed ones among them.
LESSON_ROWS = 1
CALLER_COMPLETIONS = 1
# Enrollments: the page of rows (course and lessons joined); the rules of those pages come from
# the caches of the page tree and the restrictions (warm: no query).
ENROLLMENT_ROWS = 1
PAGE_RULES = 0
# Notifications, progress: the page of rows.
ROWS = 1


def world(size: int) -> tuple[list[Any], list[Any]]:
    """A site whose catalog holds ``size`` published courses of one lesson each."""
    catalog = add_page(make_home(), CourseIndexPage(title="Courses", slug="courses"))
    return bulk_courses(catalog, size)


def queries(client: APIClient, url: str, expected_rows: int) -> int:
    """How many queries a warm GET of ``url`` runs (checking it lists ``expected_rows``)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == expected_rows
    return len(captured)


@pytest.mark.parametrize("size", SIZES)
def test_course_list_queries(size: int, learner: Any) -> None:
    courses, _lessons = world(size)
    Enrollment.objects.bulk_create([Enrollment(user=learner, course_id=course.pk, status="active") for course in courses])
    url = f"/api/v1/courses/?{PAGE}"
    assert queries(APIClient(), url, size) == RESTRICTIONS + COURSE_ROWS
    assert queries(session_client(learner), url, size) == SESSION_USER + RESTRICTIONS + COURSE_ROWS + CALLER_ENROLLMENTS
    assert queries(token_client(learner), url, size) == TOKEN_USER + RESTRICTIONS + COURSE_ROWS + CALLER_ENROLLMENTS


@pytest.mark.parametrize("size", SIZES)
def test_lesson_list_queries(size: int, learner: Any) -> None:
    world(size)
    url = f"/api/v1/lessons/?{PAGE}"
    assert queries(APIClient(), url, size) == RESTRICTIONS + LESSON_ROWS
    assert queries(session_client(learner), url, size) == SESSION_USER + RESTRICTIONS + LESSON_ROWS + CALLER_COMPLETIONS


@pytest.mark.parametrize("size", SIZES)
def test_enrollment_list_queries(size: int, learner: Any) -> None:
    courses, lessons = world(size)
    now = timezone.now()
    Enrollment.objects.bulk_create([
        Enrollment(user=learner, course_id=course.pk, status="active", activated_at=now, total_lessons=1,
                   next_lesson_id=lesson.pk, resume_lesson_id=lesson.pk)
        for course, lesson in zip(courses, lessons, strict=True)
    ])
    url = f"/api/v1/enrollments/?{PAGE}"
    assert queries(session_client(learner), url, size) == SESSION_USER + ENROLLMENT_ROWS + PAGE_RULES
    assert queries(token_client(learner), url, size) == TOKEN_USER + ENROLLMENT_ROWS + PAGE_RULES


@pytest.mark.parametrize("size", SIZES)
def test_progress_list_queries(size: int, learner: Any) -> None:
    courses, lessons = world(size)
    LessonProgress.objects.bulk_create([
        LessonProgress(user=learner, lesson_id=lesson.pk, course_id=course.pk, completed_at=timezone.now())
        for course, lesson in zip(courses, lessons, strict=True)
    ])
    assert queries(session_client(learner), f"/api/v1/progress/?{PAGE}", size) == SESSION_USER + ROWS


@pytest.mark.parametrize("size", SIZES)
def test_notification_list_queries(size: int, learner: Any) -> None:
    Notification.objects.bulk_create(
        [Notification(user=learner, kind="announcement", title=f"Note {i}") for i in range(size)]
    )
    assert queries(session_client(learner), f"/api/v1/notifications/?{PAGE}", size) == SESSION_USER + ROWS
    assert queries(token_client(learner), f"/api/v1/notifications/?{PAGE}&unread=true", size) == TOKEN_USER + ROWS
