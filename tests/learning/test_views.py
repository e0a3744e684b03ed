"""Learner pages and form posts for every role: anonymous, learner, other learner, editor, staff."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from learning import services
from learning.models import Enrollment, LessonProgress, Notification
from tests.courses.helpers import Tree, logged_in

pytestmark = pytest.mark.django_db

LESSON_URL = "/courses/python-basics/variables/"
BODY_TEXT = "Text of Variables."


# --- course page -------------------------------------------------------------------------------


def test_course_page_anonymous_sees_sign_up_call(tree: Tree, client: Client) -> None:
    html = client.get("/courses/python-basics/").content.decode()
    assert f'data-course-page data-course-id="{tree.python.pk}" data-following="false"' in html
    assert "Sign up to enroll" in html
    assert "data-enroll-form" not in html
    assert "data-course-progress" not in html


def test_course_page_learner_enroll_button_then_progress(tree: Tree, learner: Any) -> None:
    client = logged_in(learner)
    html = client.get("/courses/python-basics/").content.decode()
    assert 'data-following="false"' in html
    assert f'<input type="hidden" name="course_id" value="{tree.python.pk}">' in html
    assert "Enroll for free" in html

    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    html = client.get("/courses/python-basics/").content.decode()
    assert 'data-following="true"' in html
    assert f'data-course-progress data-course-id="{tree.python.pk}"' in html
    assert 'aria-valuenow="33"' in html and '<span data-progress-bar data-percent="33">' in html
    assert "<strong data-progress-percent>33%</strong>" in html
    assert "data-progress-count>1 of 3 lessons<" in html
    assert (
        'data-next-lesson data-link-kind="resume" href="/courses/python-basics/functions/">'
        "<span data-next-lesson-prefix>Continue: </span><span data-next-lesson-title>Functions</span></a>"
    ) in html
    assert f'class="lesson-item is-complete" data-lesson-id="{tree.lessons[0].pk}"' in html
    assert f'class="lesson-item" data-lesson-id="{tree.lessons[1].pk}"' in html


def test_course_page_pending_approval_state(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.sql)
    html = logged_in(learner).get("/courses/databases-with-sql/").content.decode()
    assert "Pending approval" in html
    assert 'data-following="false"' in html
    assert "data-enroll-form" not in html


def test_course_page_editor_follows_without_enrolling(tree: Tree, editor: Any) -> None:
    html = logged_in(editor).get("/courses/python-basics/").content.decode()
    assert 'data-following="true"' in html
    assert "As staff you can open every lesson" in html


# --- lesson page -------------------------------------------------------------------------------


def test_lesson_page_anonymous_sees_summary_not_body(tree: Tree, client: Client) -> None:
    html = client.get(LESSON_URL).content.decode()
    assert 'data-lesson-state="locked"' in html
    assert BODY_TEXT not in html
    assert "data-complete-lesson" not in html
    assert f'data-lesson-page data-lesson-id="{tree.lessons[0].pk}" data-course-id="{tree.python.pk}" data-following="false"' in html


def test_lesson_page_enrolled_learner_reads_and_completes(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    client = logged_in(learner)
    html = client.get(LESSON_URL).content.decode()
    assert BODY_TEXT in html
    assert 'data-following="true"' in html
    assert 'data-lesson-state="incomplete"' in html
    assert re.search(r'<form method="post" action="/learning/progress/" data-complete-lesson>\s*<input type="hidden" name="csrfmiddlewaretoken"', html)
    response = client.post("/learning/progress/", {"lesson_id": tree.lessons[0].pk})
    assert (response.status_code, response["Location"]) == (302, "/courses/python-basics/functions/")
    html = client.get(LESSON_URL).content.decode()
    assert 'data-lesson-state="complete"' in html
    assert "data-complete-lesson" not in html


def test_lesson_page_other_learner_and_pending_are_locked(tree: Tree, learner: Any, other_learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    html = logged_in(other_learner).get(LESSON_URL).content.decode()
    assert BODY_TEXT not in html
    assert "Enroll for free" in html
    services.enrollment_request(user=other_learner, course=tree.sql)
    html = logged_in(other_learner).get("/courses/databases-with-sql/joins/").content.decode()
    assert "Text of Joins." not in html
    assert "waiting for approval" in html


@pytest.mark.parametrize("role", ["editor", "staff"])
def test_lesson_page_editor_and_staff_see_everything(tree: Tree, role: str, request: Any) -> None:
    html = logged_in(request.getfixturevalue(role)).get(LESSON_URL).content.decode()
    assert BODY_TEXT in html
    assert 'data-following="true"' in html
    assert 'data-lesson-state="preview"' in html
    assert "data-complete-lesson" not in html


# --- POST enroll -------------------------------------------------------------------------------


def test_enroll_post_creates_and_redirects_to_safe_next(tree: Tree, learner: Any) -> None:
    client = logged_in(learner)
    response = client.post("/learning/enroll/", {"course_id": tree.python.pk, "next": "/courses/python-basics/"})
    assert (response.status_code, response["Location"]) == (302, "/courses/python-basics/")
    again = client.post("/learning/enroll/", {"course_id": tree.python.pk, "next": "https://evil.example/"})
    assert (again.status_code, again["Location"]) == (302, "/courses/python-basics/")
    assert Enrollment.objects.filter(user=learner).count() == 1


def test_enroll_post_answers_html_even_when_json_is_asked(tree: Tree, learner: Any) -> None:
    # One way to speak JSON: the REST API. The form door redirects whatever the Accept header says.
    response = logged_in(learner).post(
        "/learning/enroll/", {"course_id": tree.sql.pk, "next": "/courses/"}, HTTP_ACCEPT="application/json"
    )
    assert (response.status_code, response["Location"]) == (302, "/courses/")
    assert Enrollment.objects.get().status == "pending_approval"


@pytest.mark.parametrize(
    ("data", "status"),
    [({}, 400), ({"course_id": "abc"}, 400), ({"course_id": "-1"}, 400), ({"course_id": "9" * 30}, 400),
     ({"course_id": "\u00b2"}, 400), ({"course_id": "9" * 5000}, 400), ({"course_id": "999999"}, 404)],
)
def test_enroll_post_bad_input(tree: Tree, learner: Any, data: dict[str, str], status: int) -> None:
    response = logged_in(learner).post("/learning/enroll/", data)
    assert response.status_code == status
    assert Enrollment.objects.count() == 0


def test_enroll_post_unpublished_course_is_404(tree: Tree, learner: Any) -> None:
    tree.sql.unpublish()
    response = logged_in(learner).post("/learning/enroll/", {"course_id": tree.sql.pk}, HTTP_ACCEPT="application/json")
    assert (response.status_code, response["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert "This course does not exist or is not published." in response.content.decode()
    assert Enrollment.objects.count() == 0


def test_enroll_anonymous_redirects_to_login_and_get_is_405(tree: Tree, client: Client) -> None:
    response = client.post("/learning/enroll/", {"course_id": tree.python.pk, "next": "/courses/python-basics/"})
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/courses/python-basics/")
    assert client.get("/learning/enroll/").status_code == 405
    assert Enrollment.objects.count() == 0


def test_enroll_post_needs_csrf_token(tree: Tree, learner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    assert client.post("/learning/enroll/", {"course_id": tree.python.pk}).status_code == 403
    assert Enrollment.objects.count() == 0


# --- POST complete lesson ----------------------------------------------------------------------


def test_complete_lesson_not_enrolled_is_403(tree: Tree, learner: Any, other_learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    response = logged_in(other_learner).post("/learning/progress/", {"lesson_id": tree.lessons[0].pk})
    assert response.status_code == 403
    assert "Enroll in this course" in response.content.decode()
    assert LessonProgress.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "status"),
    [({}, 400), ({"lesson_id": "x"}, 400), ({"lesson_id": "LESSON", "position": "abc"}, 400),
     ({"lesson_id": "LESSON", "position": "101", "completed": "0"}, 400),
     ({"lesson_id": "LESSON", "completed": "maybe"}, 400), ({"lesson_id": "424242"}, 404),
     ({"lesson_id": "\u00b2"}, 400), ({"lesson_id": "LESSON", "position": "\u00b2"}, 400),
     ({"lesson_id": "LESSON", "position": "9" * 5000}, 400)],
)
def test_complete_lesson_bad_input(tree: Tree, learner: Any, data: dict[str, str], status: int) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    data = {key: str(tree.lessons[0].pk) if value == "LESSON" else value for key, value in data.items()}
    assert logged_in(learner).post("/learning/progress/", data).status_code == status
    assert LessonProgress.objects.count() == 0


def test_complete_lesson_answers_html_even_when_json_is_asked(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    response = logged_in(learner).post(
        "/learning/progress/", {"lesson_id": tree.lessons[0].pk}, HTTP_ACCEPT="application/json"
    )
    assert (response.status_code, response["Location"]) == (302, "/courses/python-basics/functions/")
    assert LessonProgress.objects.filter(completed_at__isnull=False).count() == 1


def test_complete_lesson_anonymous_redirects_to_login(tree: Tree, client: Client) -> None:
    response = client.post("/learning/progress/", {"lesson_id": tree.lessons[0].pk, "next": LESSON_URL})
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={LESSON_URL}")


# --- notifications -----------------------------------------------------------------------------


def notes_for(user: Any, count: int) -> list[Notification]:
    return [services.notification_create(user=user, kind="announcement", title=f"Note {i}") for i in range(count)]


def test_mark_read_one_and_all(learner: Any) -> None:
    notes = notes_for(learner, 3)
    client = logged_in(learner)
    response = client.post("/learning/notifications/read/", {"ids": [notes[0].pk]})
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    response = client.post("/learning/notifications/read/", {"all": "1"}, HTTP_ACCEPT="application/json")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_mark_read_other_users_notification_is_404(learner: Any, other_learner: Any) -> None:
    theirs = notes_for(other_learner, 1)[0]
    response = logged_in(learner).post("/learning/notifications/read/", {"ids": [theirs.pk]})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "data", [{}, {"ids": ["x"]}, {"ids": ["1", ""]}, {"all": "1", "ids": ["1"]}, {"all": "nope"}, {"ids": ["\u00b2"]}]
)
def test_mark_read_bad_input_is_400(learner: Any, data: dict[str, Any]) -> None:
    notes_for(learner, 1)
    assert logged_in(learner).post("/learning/notifications/read/", data).status_code == 400
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_requires_login(client: Client) -> None:
    response = client.get("/dashboard/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/dashboard/")


def test_dashboard_shows_enrollments_notifications_and_resume(tree: Tree, learner: Any, other_learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=learner, course=tree.sql)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    mine = services.notification_create(user=learner, kind="announcement", title="Welcome aboard")
    services.notification_create(user=other_learner, kind="announcement", title="Not for Ada")
    html = logged_in(learner).get("/dashboard/").content.decode()
    assert html.count("data-enrollment ") == 2
    assert f'data-enrollment data-course-id="{tree.python.pk}"' in html
    assert 'data-enrollment-status="active">Active<' in html
    assert 'data-enrollment-status="pending_approval">Pending approval<' in html
    assert '<span data-progress-bar data-percent="33">' in html
    assert 'data-next-lesson href="/courses/python-basics/functions/">Next: <span data-next-lesson-title>Functions</span></a>' in html
    assert "Pick up where you left off" in html
    assert f'<li class="notification is-unread" data-notification-id="{mine.pk}">' in html
    assert "Not for Ada" not in html
    assert 'data-unread-count aria-label="1 unread notifications">1<' in html
    assert "data-notification-list" in html


def enroll_in_many(user: Any, tree: Tree, count: int) -> list[Any]:
    """``count`` active enrollments in generated one-lesson courses, oldest first."""
    from tests.learning.bulk import bulk_courses

    courses, _lessons = bulk_courses(tree.catalog, count)
    for course in courses:
        services.enrollment_request(user=user, course=course)
    return courses


def test_dashboard_pages_enrollments_newest_first(tree: Tree, learner: Any) -> None:
    from learning.selectors import DASHBOARD_PAGE_SIZE

    courses = enroll_in_many(learner, tree, DASHBOARD_PAGE_SIZE + 2)
    client = logged_in(learner)
    first = client.get("/dashboard/").content.decode()
    assert re.findall(r'data-enrollment data-course-id="(\d+)"', first) == [
        str(course.pk) for course in reversed(courses[2:])
    ]
    assert f'Your courses <span class="muted small">({DASHBOARD_PAGE_SIZE + 2})</span>' in first
    assert '<span aria-current="page">Page 1 of 2</span>' in first
    assert '<a href="?page=2" rel="next">Next</a>' in first
    assert 'rel="prev"' not in first
    second = client.get("/dashboard/?page=2").content.decode()
    assert re.findall(r'data-enrollment data-course-id="(\d+)"', second) == [str(courses[1].pk), str(courses[0].pk)]
    assert '<a href="?page=1" rel="prev">Previous</a>' in second
    assert '<span aria-current="page">Page 2 of 2</span>' in second


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("", 1), ("abc", 1), ("0", 1), ("-1", 1), ("1.5", 1), ("²", 1), (" 2 ", 2), ("3", 2), ("9" * 30, 1),
     ("99999999", 2), ("%00", 1)],
)
def test_dashboard_bad_page_numbers_show_a_page(tree: Tree, learner: Any, raw: str, shown: int) -> None:
    from learning.selectors import DASHBOARD_PAGE_SIZE

    enroll_in_many(learner, tree, DASHBOARD_PAGE_SIZE + 1)
    response = logged_in(learner).get("/dashboard/", {"page": raw})
    assert response.status_code == 200
    assert response.context["enrollments_page"].number == shown


def test_dashboard_single_page_has_no_pager(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    html = logged_in(learner).get("/dashboard/").content.decode()
    assert 'aria-label="Pages of your courses"' not in html
    assert 'Your courses <span class="muted small">(1)</span>' in html


def test_header_badge_counts_unread_on_other_pages(tree: Tree, learner: Any) -> None:
    notes_for(learner, 2)
    html = logged_in(learner).get("/courses/").content.decode()
    assert 'data-unread-count aria-label="2 unread notifications">2<' in html
