"""The REST API's behaviour: results, the one error shape, validation of every write, CSRF for
session writes, tokens (valid, expired, revoked, malformed) and the write throttles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from learning import services, tokens
from learning.models import Enrollment, LessonProgress, Notification, PersonalAccessToken
from tests.courses.helpers import Tree
from tests.learning.api.conftest import session_client, token_client

pytestmark = pytest.mark.django_db


def error(response: Any) -> tuple[int, str]:
    """(status, code) of an error, checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return response.status_code, body["error"]["code"]


# --- courses and lessons ---------------------------------------------------------------------------


def test_courses_anonymous_in_catalog_order_without_enrollment(tree: Tree, api: APIClient) -> None:
    body = api.get("/api/v1/courses/").json()
    assert [row["slug"] for row in body["results"]] == ["python-basics", "databases-with-sql"]
    assert body["results"][1] == {
        "id": tree.sql.pk, "title": "Databases with SQL", "slug": "databases-with-sql",
        "url": "http://testserver/courses/databases-with-sql/", "summary": "Relational modelling and queries.",
        "level": "beginner", "estimated_hours": 1, "enrollment_mode": "approval", "requires_approval": True,
        "price": "49.00", "currency": "USD", "tags": ["sql"], "instructor": None,
        "first_published_at": body["results"][1]["first_published_at"], "enrollment": None,
    }
    assert (body["next"], body["previous"]) == (None, None)


def test_courses_filters(tree: Tree, api: APIClient) -> None:
    def slugs(query: str) -> list[str]:
        return [row["slug"] for row in api.get(f"/api/v1/courses/?{query}").json()["results"]]

    assert slugs("tag=sql") == ["databases-with-sql"]
    assert slugs("tag=nothing") == []
    assert slugs("level=advanced") == []
    assert slugs("level=beginner") == ["python-basics", "databases-with-sql"]
    assert slugs("search=relational") == ["databases-with-sql"]
    assert slugs("search=%22%29%28") == ["python-basics", "databases-with-sql"]  # only punctuation: no filter
    assert error(api.get("/api/v1/courses/?level=expert")) == (400, "invalid")
    assert error(api.get("/api/v1/courses/?tag=a%20b")) == (400, "invalid")
    assert error(api.get("/api/v1/courses/?cursor=garbage")) == (400, "invalid")


def test_courses_cursor_pages_through_everything(tree: Tree, api: APIClient) -> None:
    first = api.get("/api/v1/courses/?page_size=1").json()
    assert [row["slug"] for row in first["results"]] == ["python-basics"]
    second = api.get(first["next"]).json()
    assert [row["slug"] for row in second["results"]] == ["databases-with-sql"]
    assert second["next"] is None


def test_course_detail_with_progress_for_an_enrolled_learner(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    body = token_client(learner).get(f"/api/v1/courses/{tree.python.pk}/").json()
    assert body["description_html"] == "<p>About Python basics.</p>"
    assert [(row["title"], row["completed"]) for row in body["lessons"]] == [
        ("Variables", True), ("Functions", False), ("Modules", False),
    ]
    assert body["progress"] == {
        "status": "active", "can_read": True, "completed_lessons": 1, "total_lessons": 3, "percent": 33,
        "next_lesson": {"id": tree.lessons[1].pk, "title": "Functions", "url": "http://testserver/courses/python-basics/functions/"},
        "resume_lesson": {"id": tree.lessons[1].pk, "title": "Functions", "url": "http://testserver/courses/python-basics/functions/"},
    }
    assert body["enrollment"]["status"] == "active"


def test_course_detail_unpublished_or_missing_is_404(tree: Tree, api: APIClient) -> None:
    tree.sql.unpublish()
    assert error(api.get(f"/api/v1/courses/{tree.sql.pk}/")) == (404, "course_not_available")
    assert error(api.get("/api/v1/courses/999999/")) == (404, "course_not_available")
    assert error(api.get(f"/api/v1/courses/{tree.lessons[0].pk}/")) == (404, "course_not_available")
    assert [row["id"] for row in api.get("/api/v1/courses/").json()["results"]] == [tree.python.pk]


def test_lesson_body_only_for_readers(tree: Tree, learner: Any, api: APIClient) -> None:
    url = f"/api/v1/lessons/{tree.lessons[0].pk}/"
    locked = api.get(url).json()
    assert (locked["locked"], locked["body_html"], locked["completed"], locked["course_id"]) == (
        True, None, None, tree.python.pk,
    )
    services.enrollment_request(user=learner, course=tree.python)
    opened = token_client(learner).get(url).json()
    assert opened["locked"] is False and "Text of Variables." in opened["body_html"]
    assert opened["completed"] is False


def test_lessons_list_filters_by_course(tree: Tree, api: APIClient) -> None:
    rows = api.get(f"/api/v1/lessons/?course={tree.sql.pk}").json()["results"]
    assert [(row["title"], row["course_id"], row["completed"]) for row in rows] == [("Joins", tree.sql.pk, None)]
    assert "body_html" not in rows[0]
    assert len(api.get("/api/v1/lessons/").json()["results"]) == 4
    assert error(api.get("/api/v1/lessons/?course=x")) == (400, "invalid")
    assert error(api.get(f"/api/v1/lessons/{tree.python.pk}/")) == (404, "lesson_not_available")


# --- enrollments ---------------------------------------------------------------------------------------


def test_enroll_created_then_repeated(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    created = client.post("/api/v1/enrollments/", {"course_id": tree.sql.pk}, format="json")
    assert created.status_code == 201
    assert (created.json()["status"], created.json()["has_access"], created.json()["next_lesson"]) == (
        "pending_approval", False, None,
    )
    again = client.post("/api/v1/enrollments/", {"course_id": tree.sql.pk}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    assert Enrollment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "course_id"), ({"course_id": "abc"}, "course_id"), ({"course_id": 0}, "course_id"),
     ({"course_id": -1}, "course_id"), ({"course_id": 2**63}, "course_id"), ({"course_id": None}, "course_id"),
     ({"course_id": [1]}, "course_id"), ({"course_id": 1.5}, "course_id")],
)
def test_enroll_bad_input_is_400_with_fields(tree: Tree, learner: Any, body: dict[str, Any], field: str) -> None:
    response = token_client(learner).post("/api/v1/enrollments/", body, format="json")
    assert error(response) == (400, "invalid")
    assert list(response.json()["error"]["fields"]) == [field]
    assert Enrollment.objects.count() == 0


def test_enroll_body_that_is_not_json(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    assert error(client.post("/api/v1/enrollments/", "course_id=1", content_type="application/x-www-form-urlencoded")) == (
        415, "unsupported_media_type",
    )
    assert error(client.post("/api/v1/enrollments/", "{nope", content_type="application/json")) == (400, "parse_error")
    assert error(client.post("/api/v1/enrollments/", "[1, 2]", content_type="application/json")) == (400, "invalid")
    assert error(client.post("/api/v1/enrollments/", {"course_id": 999999}, format="json")) == (
        404, "course_not_available",
    )
    assert Enrollment.objects.count() == 0


def test_staff_approve_and_cancel_through_the_services(tree: Tree, learner: Any, staff: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    staff_api = token_client(staff)
    approved = staff_api.post(f"/api/v1/enrollments/{pending.pk}/approve/")
    assert (approved.status_code, approved.json()["status"], approved.json()["user_id"]) == (200, "active", learner.pk)
    cancelled = staff_api.post(f"/api/v1/enrollments/{pending.pk}/cancel/")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert error(staff_api.post(f"/api/v1/enrollments/{pending.pk}/approve/")) == (409, "conflict")
    own = services.enrollment_request(user=staff, course=tree.sql).enrollment
    assert error(staff_api.post(f"/api/v1/enrollments/{own.pk}/approve/")) == (403, "own_enrollment")


def test_learner_cancels_own_but_cannot_approve_it(tree: Tree, learner: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    client = token_client(learner)
    assert error(client.post(f"/api/v1/enrollments/{pending.pk}/approve/")) == (403, "forbidden")
    response = client.post(f"/api/v1/enrollments/{pending.pk}/cancel/")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert error(client.post("/api/v1/enrollments/999999/cancel/")) == (404, "not_found")


def test_enrollment_list_filter_by_status(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=learner, course=tree.sql)
    client = token_client(learner)
    rows = client.get("/api/v1/enrollments/?status=pending_approval").json()["results"]
    assert [row["course"]["id"] for row in rows] == [tree.sql.pk]
    assert error(client.get("/api/v1/enrollments/?status=nope")) == (400, "invalid")


# --- progress ------------------------------------------------------------------------------------------


def test_progress_complete_matches_the_progress_frame(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    response = token_client(learner).post("/api/v1/progress/", {"lesson_id": tree.lessons[0].pk}, format="json")
    assert (response.status_code, response.json()) == (200, {
        "course_id": tree.python.pk, "lesson_id": tree.lessons[0].pk, "completed_lessons": 1, "total_lessons": 3,
        "percent": 33, "course_completed": False, "newly_completed": True,
        "next_lesson": {"id": tree.lessons[1].pk, "title": "Functions", "url": "http://testserver/courses/python-basics/functions/"},
    })


def test_progress_position_then_list(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    client = token_client(learner)
    response = client.post(
        "/api/v1/progress/", {"lesson_id": tree.lessons[1].pk, "completed": False, "position": 40}, format="json"
    )
    assert (response.status_code, response.json()["newly_completed"]) == (200, False)
    rows = client.get(f"/api/v1/progress/?course={tree.python.pk}").json()["results"]
    assert [(row["lesson_id"], row["completed"], row["position"]) for row in rows] == [(tree.lessons[1].pk, False, 40)]


@pytest.mark.parametrize(
    ("body", "fields"),
    [({}, ["lesson_id"]), ({"lesson_id": "x"}, ["lesson_id"]), ({"lesson_id": "LESSON", "position": 101}, ["position"]),
     ({"lesson_id": "LESSON", "position": -1}, ["position"]), ({"lesson_id": "LESSON", "completed": "maybe"}, ["completed"]),
     ({"lesson_id": "LESSON", "position": "9" * 5000}, ["position"]), ({"lesson_id": 2**70}, ["lesson_id"])],
)
def test_progress_bad_input_is_400(tree: Tree, learner: Any, body: dict[str, Any], fields: list[str]) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    body = {key: tree.lessons[0].pk if value == "LESSON" else value for key, value in body.items()}
    response = token_client(learner).post("/api/v1/progress/", body, format="json")
    assert error(response) == (400, "invalid")
    assert sorted(response.json()["error"]["fields"]) == fields
    assert LessonProgress.objects.count() == 0


def test_progress_not_enrolled_and_missing_lesson(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    assert error(client.post("/api/v1/progress/", {"lesson_id": tree.lessons[0].pk}, format="json")) == (
        403, "not_enrolled",
    )
    assert error(client.post("/api/v1/progress/", {"lesson_id": 424242}, format="json")) == (404, "lesson_not_available")
    assert LessonProgress.objects.count() == 0


# --- notifications -------------------------------------------------------------------------------------


def notes_for(user: Any, count: int) -> list[Notification]:
    return [services.notification_create(user=user, kind="announcement", title=f"Note {i}") for i in range(count)]


def test_notifications_newest_first_unread_filter_and_mark_read(learner: Any) -> None:
    notes = notes_for(learner, 3)
    client = token_client(learner)
    assert [row["id"] for row in client.get("/api/v1/notifications/").json()["results"]] == [n.pk for n in notes[::-1]]
    response = client.post("/api/v1/notifications/read/", {"ids": [notes[0].pk]}, format="json")
    assert response.json() == {"marked": 1, "unread_count": 2}
    unread = client.get("/api/v1/notifications/?unread=true").json()["results"]
    assert [row["id"] for row in unread] == [notes[2].pk, notes[1].pk]
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2, "unread_count": 0}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 0, "unread_count": 0}


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": ["x"]}, {"ids": [0]}, {"ids": [None]}, {"all": True}, {"ids": "1"}, {"ids": {"1": 1}},
     {"ids": list(range(1, services.MAX_NOTIFICATION_IDS + 2))}],
)
def test_mark_read_bad_input_is_400(learner: Any, body: dict[str, Any]) -> None:
    notes_for(learner, 1)
    assert error(token_client(learner).post("/api/v1/notifications/read/", body, format="json")) == (400, "invalid")
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_mark_read_someone_elses_is_404_and_marks_nothing(learner: Any, other_learner: Any) -> None:
    mine = notes_for(learner, 1)[0]
    theirs = notes_for(other_learner, 1)[0]
    response = token_client(learner).post("/api/v1/notifications/read/", {"ids": [mine.pk, theirs.pk]}, format="json")
    assert error(response) == (404, "notification_not_found")
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


# --- me, authentication ------------------------------------------------------------------------------


def test_me_by_session_and_by_token(learner: Any) -> None:
    by_session = session_client(learner).get("/api/v1/me/").json()
    assert (by_session["username"], by_session["authenticated_by"], by_session["token_expires_at"]) == (
        "ada", "session", None,
    )
    by_token = token_client(learner, expires_in_days=7).get("/api/v1/me/").json()
    assert by_token["authenticated_by"] == "token" and by_token["token_expires_at"] is not None


def test_anonymous_is_401_with_bearer_challenge(api: APIClient) -> None:
    response = api.get("/api/v1/me/")
    assert error(response) == (401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("header", "code"),
    [("Bearer acd_nope", "invalid_token"), ("Bearer nope", "invalid_token"), ("Bearer", "authentication_failed"),
     ("Bearer a b", "authentication_failed"), ("Bearer acd_" + "x" * 200, "invalid_token")],
)
def test_bad_tokens_are_401(learner: Any, header: str, code: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert error(client.get("/api/v1/courses/")) == (401, code)


def test_expired_and_revoked_tokens_are_refused(learner: Any) -> None:
    made = tokens.token_create(user=learner, name="script", expires_in_days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    assert client.get("/api/v1/me/").status_code == 200
    PersonalAccessToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert error(client.get("/api/v1/me/")) == (401, "token_expired")
    assert tokens.token_revoke(user=learner, token_id=made.token.pk) is True
    assert error(client.get("/api/v1/me/")) == (401, "invalid_token")


def test_token_of_a_deactivated_user_is_refused(learner: Any) -> None:
    client = token_client(learner)
    learner.is_active = False
    learner.save()
    assert error(client.get("/api/v1/me/")) == (401, "invalid_token")


def test_session_writes_need_the_csrf_token_token_writes_do_not(tree: Tree, learner: Any) -> None:
    browser = session_client(learner, enforce_csrf=True)
    assert error(browser.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json")) == (
        403, "permission_denied",
    )
    assert Enrollment.objects.count() == 0
    browser.get("/accounts/tokens/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201
    assert token_client(learner).post(
        "/api/v1/enrollments/", {"course_id": tree.sql.pk}, format="json"
    ).status_code == 201


def test_unknown_api_path_and_method_answer_the_error_shape(learner: Any, api: APIClient) -> None:
    assert error(api.get("/api/v1/nothing/")) == (404, "not_found")
    assert error(api.get("/api/v2/courses/")) == (404, "not_found")
    assert error(token_client(learner).delete("/api/v1/me/")) == (405, "method_not_allowed")
    assert error(api.get("/api/v1/courses/", HTTP_ACCEPT="text/html")) == (406, "not_acceptable")


# --- throttles -----------------------------------------------------------------------------------------


def test_write_throttle_is_scoped_and_answers_429_in_the_error_shape(tree: Tree, learner: Any, settings: Any) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "enrollments": "2/hour"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        client = token_client(learner)
        statuses = [
            client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json").status_code
            for _ in range(2)
        ]
        refused = client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json")
        reads = client.get("/api/v1/enrollments/").status_code
        other_scope = client.post("/api/v1/notifications/read-all/").status_code
    assert statuses == [201, 200]
    assert error(refused) == (429, "throttled")
    assert 3500 <= int(refused["Retry-After"]) <= 3600
    assert (reads, other_scope) == (200, 200)


def test_anonymous_throttle_answers_429_in_the_error_shape(tree: Tree, api: APIClient, settings: Any) -> None:
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/hour"}
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        statuses = [api.get("/api/v1/courses/").status_code for _ in range(3)]
        refused = api.get("/api/v1/courses/")
    assert statuses == [200, 200, 429]
    assert error(refused) == (429, "throttled") and int(refused["Retry-After"]) > 0
