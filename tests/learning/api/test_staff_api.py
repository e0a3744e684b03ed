"""The staff and integration endpoints (issue 23): a course's enrollments, batches, the progress
report, people by external id, the staff throttle and service account scopes.

The world: course A (Python basics, open) and course B (Databases with SQL, approval). "sam"
is staff of every course (the conftest's ``staff``); "edna" edits course A only (page and
enrollment permissions there), as the admin's per-course rule has it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from wagtail.models import ModelLogEntry

from academy import ratelimit
from courses.models import DueRule
from learning import access, gradebook, integrations, services, tokens
from learning.models import Cohort, Enrollment, ExternalId, Invitation, PersonalAccessToken
from tests.courses.helpers import Tree
from tests.learning.api.conftest import session_client, token_client
from tests.learning.conftest import make_user
from tests.learning.staff_world import staff_member
from tests.plugins.quizzes.helpers import make_quiz

pytestmark = pytest.mark.django_db

User = get_user_model()
ENROLLMENT_PERMISSIONS = (("learning", "view_enrollment"), ("learning", "change_enrollment"))


def enrollments_url(course: Any, suffix: str = "") -> str:
    return f"/api/v1/courses/{course.pk}/enrollments/{suffix}"


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    ratelimit.reset()


@pytest.fixture
def edna(tree: Tree) -> Any:
    """Staff of course A only."""
    return staff_member("edna", tree.python, permissions=ENROLLMENT_PERMISSIONS)


@pytest.fixture
def people(db: None) -> list[Any]:
    return [make_user(f"person{number}") for number in range(5)]


def test_enroll_by_id_username_and_email_invites_unknown_addresses(tree: Tree, staff: Any, people: list[Any]) -> None:
    client = token_client(staff)
    body = {"users": [
        {"id": people[0].pk}, {"username": "person1"}, {"email": "PERSON2@example.com"},
        {"email": "newcomer@example.com"}, {"username": "nobody"}, {"id": people[0].pk},
    ]}
    response = client.post(enrollments_url(tree.python), body, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [item["result"] for item in results] == ["enrolled", "enrolled", "enrolled", "invited", "error", "error"]
    assert results[4]["error"]["code"] == "user_not_found"
    assert results[5]["error"]["code"] == "duplicate"
    assert response.json()["counts"] == {"enrolled": 3, "invited": 1, "error": 2}
    assert set(Enrollment.objects.filter(course=tree.python).values_list("user_id", "status")) == {
        (person.pk, "active") for person in people[:3]
    }
    assert Invitation.objects.filter(course=tree.python, email="newcomer@example.com", invited_by=staff).exists()
    assert ModelLogEntry.objects.filter(action="learning.enrollment.add").count() == 3
    again = client.post(enrollments_url(tree.python), {"users": [{"id": people[0].pk}]}, format="json")
    assert again.json()["results"][0]["result"] == "already"


def test_enroll_places_in_a_cohort_of_the_course_only(tree: Tree, staff: Any, people: list[Any]) -> None:
    spring = Cohort.objects.create(course=tree.python, name="Spring")
    other = Cohort.objects.create(course=tree.sql, name="Elsewhere")
    client = token_client(staff)
    refused = client.post(enrollments_url(tree.python), {"users": [{"id": people[0].pk}], "cohort_id": other.pk}, format="json")
    assert refused.status_code == 400
    assert not Enrollment.objects.filter(course=tree.python).exists()
    response = client.post(enrollments_url(tree.python), {"users": [{"id": people[0].pk}], "cohort_id": spring.pk}, format="json")
    assert response.status_code == 200
    assert Enrollment.objects.get(course=tree.python, user=people[0]).cohort_id == spring.pk
    listed = client.get(enrollments_url(tree.python), {"cohort": spring.pk}).json()["results"]
    assert [row["user"]["id"] for row in listed] == [people[0].pk]
    assert client.get(enrollments_url(tree.python), {"cohort": other.pk}).json()["results"] == []


def test_list_filters_by_status_paginates_and_answers_304(tree: Tree, staff: Any, people: list[Any]) -> None:
    for person in people:
        services.enrollment_request(user=person, course=tree.sql)
    services.enrollment_approve(enrollment=Enrollment.objects.get(user=people[0], course=tree.sql), by=staff)
    client = token_client(staff)
    pending = client.get(enrollments_url(tree.sql), {"status": "pending_approval", "page_size": 2})
    assert pending.status_code == 200
    page = pending.json()
    assert len(page["results"]) == 2 and page["next"]
    assert all(row["status"] == "pending_approval" for row in page["results"])
    second = client.get(page["next"]).json()
    assert second["next"] is None
    ids = [row["id"] for row in page["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 4
    assert client.get(enrollments_url(tree.sql), {"status": "bogus"}).status_code == 400
    etag = pending["ETag"]
    assert client.get(enrollments_url(tree.sql), {"status": "pending_approval", "page_size": 2},
                      HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_list_runs_a_fixed_number_of_queries(tree: Tree, staff: Any) -> None:
    client = token_client(staff)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(enrollments_url(tree.python)).status_code == 200
        return len(queries)

    make_user("first").enrollments.create(course=tree.python, status="active")
    count()  # the token's first use is recorded once
    few = count()
    for number in range(15):
        make_user(f"more{number}").enrollments.create(course=tree.python, status="active")
    assert count() == few


def test_approve_and_cancel_in_bulk(tree: Tree, staff: Any, people: list[Any]) -> None:
    rows = [services.enrollment_request(user=person, course=tree.sql).enrollment for person in people[:3]]
    elsewhere = services.enrollment_request(user=people[3], course=tree.python).enrollment
    client = token_client(staff)
    ids = [row.pk for row in rows] + [elsewhere.pk, 10**12]
    response = client.post(enrollments_url(tree.sql, "approve/"), {"enrollment_ids": ids}, format="json")
    assert response.status_code == 200
    assert [(item["result"], (item["error"] or {}).get("code")) for item in response.json()["results"]] == [
        ("approved", None), ("approved", None), ("approved", None),
        ("error", "enrollment_not_found"), ("error", "enrollment_not_found"),
    ]
    assert set(Enrollment.objects.filter(pk__in=[row.pk for row in rows]).values_list("status", flat=True)) == {"active"}
    assert Enrollment.objects.get(pk=elsewhere.pk).status == "active"  # course A is open: untouched
    again = client.post(enrollments_url(tree.sql, "approve/"), {"enrollment_ids": ids[:1]}, format="json")
    assert again.json()["results"][0]["result"] == "already"
    cancelled = client.post(enrollments_url(tree.sql, "cancel/"), {"enrollment_ids": ids[:2]}, format="json")
    assert [item["result"] for item in cancelled.json()["results"]] == ["cancelled", "cancelled"]
    assert ModelLogEntry.objects.filter(action="learning.enrollment.cancel").count() == 2


def test_unenroll_one(tree: Tree, staff: Any, learner: Any) -> None:
    enrollment = services.enrollment_request(user=learner, course=tree.python).enrollment
    client = token_client(staff)
    response = client.delete(enrollments_url(tree.python, f"{enrollment.pk}/"))
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert client.delete(enrollments_url(tree.sql, f"{enrollment.pk}/")).status_code == 404
    assert client.delete(enrollments_url(tree.python, f"{enrollment.pk}/")).json()["status"] == "cancelled"


def test_progress_report_rows(tree: Tree, staff: Any, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    response = token_client(staff).get(f"/api/v1/courses/{tree.python.pk}/progress/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["user"]["username"] == "ada"
    assert (row["status"], row["lessons_completed"], row["lessons_total"], row["percent_complete"]) == ("active", 1, 3, 33)


# --- The gradebook -------------------------------------------------------------------------------


def gradebook_url(course: Any) -> str:
    return f"/api/v1/courses/{course.pk}/gradebook/"


@pytest.fixture
def graded(tree: Tree) -> tuple[Any, Any]:
    """Two quizzes in course A (pass grade 60): the first due an hour ago, the second weight 3."""
    tree.python.pass_grade = 60
    tree.python.save_revision().publish()
    due = timezone.now() - timedelta(hours=1)
    first = make_quiz(tree.python, "First quiz", slug="first-quiz", due_rule=DueRule.FIXED, due_at=due)
    second = make_quiz(tree.python, "Second quiz", slug="second-quiz", grade_weight=3)
    return first, second


def test_gradebook_rows_as_the_admin_grid(tree: Tree, staff: Any, learner: Any, other_learner: Any,
                                          graded: tuple[Any, Any]) -> None:
    first, second = graded
    spring = Cohort.objects.create(course=tree.python, name="Spring")
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=other_learner, course=tree.python)
    Enrollment.objects.filter(user=learner).update(cohort=spring)
    Enrollment.objects.filter(user=other_learner).update(cohort=None)
    ExternalId.objects.create(user=learner, system="workday", external_id="E-7")
    gradebook.grade_record(user=learner, lesson=first, score="80")  # after the due date: late
    gradebook.grade_override(user=learner, lesson=second, override="50", reason="Oral exam", by=staff)
    client = token_client(staff)
    response = client.get(gradebook_url(tree.python), {"cohort": spring.pk})
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert (row["user"]["id"], row["user"]["username"], row["status"]) == (learner.pk, "ada", "active")
    assert row["external_ids"] == [{"system": "workday", "external_id": "E-7"}]
    assert row["cohort"] == {"id": spring.pk, "name": "Spring"}
    assert [(cell["lesson_id"], cell["title"], cell["grade"], cell["late"], cell["overridden"], cell["state"])
            for cell in row["grades"]] == [
        (first.pk, "First quiz", 80, True, False, "graded"),
        (second.pk, "Second quiz", 50, False, True, "graded"),
    ]
    # (80 * 1 + 50 * 3) / 4 = 57.5: under the pass grade of 60.
    assert (row["course_grade"], row["pass_grade"], row["passed"], row["pending_items"]) == (57.5, 60, False, 0)
    expected = gradebook.course_grid(course=tree.python, who=access.viewer(staff), cohort_id=spring.pk).rows[0].grade
    assert Decimal(str(row["course_grade"])) == expected.percent
    # Everyone, newest enrollment first, a cursor page at a time; bob's missing grade counts once due.
    page = client.get(gradebook_url(tree.python), {"page_size": 1}).json()
    assert page["results"][0]["user"]["username"] == "bob" and page["next"]
    bob = page["results"][0]
    default = Cohort.objects.get(course=tree.python, is_default=True)  # bob is placed in none: he counts there
    assert (bob["external_ids"], bob["cohort"], [cell["state"] for cell in bob["grades"]]) == (
        [], {"id": default.pk, "name": default.name}, ["missing", "pending"])
    assert (bob["course_grade"], bob["passed"], bob["pending_items"]) == (0, False, 1)
    assert client.get(page["next"]).json()["results"][0]["user"]["username"] == "ada"
    assert client.get(gradebook_url(tree.python), {"cohort": "x"}).status_code == 400


def test_gradebook_without_graded_lessons_or_pass_grade(tree: Tree, staff: Any, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    [row] = token_client(staff).get(gradebook_url(tree.python)).json()["results"]
    assert (row["grades"], row["course_grade"], row["pass_grade"], row["passed"]) == ([], None, None, None)


def test_gradebook_runs_a_fixed_number_of_queries(tree: Tree, staff: Any, graded: tuple[Any, Any]) -> None:
    client = token_client(staff)
    spring = Cohort.objects.create(course=tree.python, name="Spring")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(gradebook_url(tree.python), {"cohort": spring.pk}).status_code == 200
        return len(queries)

    def add(number: int) -> None:
        person = make_user(f"graded{number}")
        person.enrollments.create(course=tree.python, status="active", cohort=spring)
        ExternalId.objects.create(user=person, system="hr", external_id=f"H-{number}")
        for quiz in graded:
            gradebook.grade_record(user=person, lesson=quiz, score=number)

    add(0)
    count()  # the token's first use is recorded once
    few = count()
    for number in range(1, 16):
        add(number)
    assert count() == few


def test_gradebook_follows_the_admin_screens_rule(tree: Tree, edna: Any, learner: Any) -> None:
    """Staff of course A only: the API and the admin's gradebook screen agree course by course."""
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=learner, course=tree.sql)
    api, admin = token_client(edna), session_client(edna)
    for course, allowed in ((tree.python, True), (tree.sql, False)):
        answer = api.get(gradebook_url(course))
        screen = admin.get(f"/admin/learning/courses/{course.pk}/gradebook/")
        assert (answer.status_code == 200, screen.status_code == 200) == (allowed, allowed)
    assert token_client(learner).get(gradebook_url(tree.python)).status_code == 403


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("get", "enrollments/", None),
    ("post", "enrollments/", {"users": [{"username": "ada"}]}),
    ("post", "enrollments/approve/", {"enrollment_ids": [1]}),
    ("post", "enrollments/cancel/", {"enrollment_ids": [1]}),
    ("delete", "enrollments/1/", None),
    ("get", "progress/", None),
    ("get", "gradebook/", None),
])
def test_staff_of_another_course_is_refused_and_unknown_courses_are_404(
    tree: Tree, edna: Any, learner: Any, method: str, suffix: str, body: Any
) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    client = token_client(edna)
    url = f"/api/v1/courses/{tree.sql.pk}/{suffix}"
    response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "course_staff_only"
    unknown = getattr(client, method)(f"/api/v1/courses/{10**9}/{suffix}", body, format="json")
    assert unknown.status_code == 404
    own = getattr(client, method)(f"/api/v1/courses/{tree.python.pk}/{suffix}", body, format="json")
    assert own.status_code in (200, 404)  # course A is edna's (404: no enrollment 1 there)
    assert Enrollment.objects.get(pk=pending.pk).status == "pending_approval"


def test_learners_are_refused(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    assert client.get(enrollments_url(tree.python)).status_code == 403
    assert client.post(enrollments_url(tree.python), {"users": [{"username": "ada"}]}, format="json").status_code == 403


@pytest.mark.parametrize("body", [
    {"users": [{"id": 1}], "user_id": 5},
    {"users": [{"id": 1, "email": "a@example.com"}]},
    {"users": [{}]},
    {"users": [{"id": 1, "role": "admin"}]},
    {"users": []},
    {"users": [{"id": number} for number in range(1, integrations.MAX_BATCH + 2)]},
])
def test_bad_batches_are_400_and_write_nothing(tree: Tree, staff: Any, body: dict[str, Any]) -> None:
    response = token_client(staff).post(enrollments_url(tree.python), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Enrollment.objects.exists()


def test_idempotency_key_replays_the_batch(tree: Tree, staff: Any, people: list[Any]) -> None:
    client = token_client(staff)
    body = {"users": [{"id": people[0].pk}]}
    first = client.post(enrollments_url(tree.python), body, format="json", HTTP_IDEMPOTENCY_KEY="sync-1")
    Enrollment.objects.all().delete()
    second = client.post(enrollments_url(tree.python), body, format="json", HTTP_IDEMPOTENCY_KEY="sync-1")
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert not Enrollment.objects.exists()


# --- Limits -------------------------------------------------------------------------------------


def test_staff_calls_have_their_own_limit_with_headers(tree: Tree, staff: Any, settings: Any, people: list[Any]) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "enrollments": "1/hour", "user": "1/hour", "staff": "3/hour",
    }}
    client = token_client(staff)
    answers = [client.post(enrollments_url(tree.python), {"users": [{"id": person.pk}]}, format="json") for person in people[:4]]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer["RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert answers[0]["RateLimit-Limit"] == "3"
    assert int(answers[0]["RateLimit-Reset"]) == 3600
    assert 0 < int(answers[3]["RateLimit-Reset"]) <= 3600
    assert answers[3]["Retry-After"]
    # Another token of the same person has its own budget.
    assert token_client(staff).get(enrollments_url(tree.python)).status_code == 200


def test_invitations_over_the_limit_refuse_the_whole_batch(tree: Tree, staff: Any, settings: Any, people: list[Any]) -> None:
    settings.RATELIMIT_INVITATIONS = "2/d"
    body = {"users": [{"id": people[0].pk}, *({"email": f"new{number}@example.com"} for number in range(3))]}
    response = token_client(staff).post(enrollments_url(tree.python), body, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "invitations_limited"
    assert 1 <= int(response["Retry-After"]) <= 24 * 3600  # the invitations window, like a throttle's 429
    assert not Enrollment.objects.exists() and not Invitation.objects.exists()


# --- People by external id ----------------------------------------------------------------------


@pytest.fixture
def hr(db: None) -> Any:
    """A staff member who manages users (auth.add_user, auth.change_user), no courses."""
    user = make_user("hr")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="auth", codename__in=["add_user", "change_user"]))
    return User.objects.get(pk=user.pk)


def external_url(system: str, external_id: str) -> str:
    return f"/api/v1/users/by-external-id/{system}/{external_id}/"


def test_put_by_external_id_is_idempotent(hr: Any) -> None:
    client = token_client(hr)
    body = {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper"}
    created = client.put(external_url("workday", "E-1001"), body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["username"], data["active"], data["created"], data["changed"]) == ("grace@example.com", True, True, True)
    user = User.objects.get(pk=data["id"])
    assert not user.has_usable_password()
    same = client.put(external_url("workday", "E-1001"), body, format="json")
    assert (same.status_code, same.json()["changed"]) == (200, False)
    renamed = client.put(external_url("workday", "E-1001"), {**body, "last_name": "Murray"}, format="json")
    assert renamed.json()["changed"] is True
    assert User.objects.get(pk=user.pk).last_name == "Murray"
    looked_up = client.get(external_url("workday", "E-1001"))
    assert looked_up.json()["id"] == user.pk
    assert client.get(external_url("workday", "E-9")).status_code == 404
    assert User.objects.filter(email="grace@example.com").count() == 1


def test_deactivation_ends_the_users_tokens(hr: Any, learner: Any) -> None:
    client = token_client(hr)
    linked = client.put(external_url("sis", "42"), {"email": "ADA@example.com"}, format="json")
    assert (linked.status_code, linked.json()["id"], linked.json()["changed"]) == (200, learner.pk, True)  # linked
    tokens.token_create(user=learner, name="phone")
    gone = client.put(external_url("sis", "42"), {"email": "ada@example.com", "active": False}, format="json")
    assert gone.json()["active"] is False
    assert not User.objects.get(pk=learner.pk).is_active
    assert not PersonalAccessToken.objects.filter(user=learner).exists()


def test_external_ids_refusals(hr: Any, staff: Any, edna: Any, learner: Any, other_learner: Any) -> None:
    client = token_client(hr)
    assert client.put(external_url("sis", "1"), {"email": "sam@example.com"}, format="json").status_code == 403  # staff
    admin_user = client.put(external_url("sis", "1"), {"email": "edna@example.com"}, format="json")  # admin access by group
    assert (admin_user.status_code, admin_user.json()["error"]["code"]) == (403, "privileged_user")
    client.put(external_url("sis", "2"), {"email": "ada@example.com"}, format="json")
    taken = client.put(external_url("sis", "2"), {"email": "bob@example.com"}, format="json")
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "conflict")
    other_id = client.put(external_url("sis", "3"), {"email": "ada@example.com"}, format="json")
    assert other_id.status_code == 409
    assert client.put(external_url("sis", "4"), {"email": "x@example.com", "is_superuser": True}, format="json").status_code == 400
    assert client.put(external_url("sis", "5"), {"email": "not an email"}, format="json").status_code == 400
    assert client.put(external_url("sis", "%20x"), {"email": "y@example.com"}, format="json").status_code == 400
    assert token_client(learner).put(external_url("sis", "6"), {"email": "z@example.com"}, format="json").status_code == 403
    assert token_client(learner).get(external_url("sis", "2")).status_code == 403
    assert ExternalId.objects.count() == 1


# --- Service accounts and scopes ----------------------------------------------------------------


def test_service_account_tokens_are_limited_to_their_scopes(tree: Tree, learner: Any, django_user_model: Any) -> None:
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    account = tokens.service_account_create(name="HR sync", username="hr-sync", by=admin)
    assert not account.user.has_usable_password()
    assert not session_client(admin).login(username="hr-sync", password="")
    account.user.is_superuser = True  # its rights come from its groups; here: everything
    account.user.save()
    reader = tokens.service_token_create(account=account, name="read", scopes=["read"], by=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    assert client.get(enrollments_url(tree.python)).status_code == 200
    refused = client.post(enrollments_url(tree.python), {"users": [{"id": learner.pk}]}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    assert client.get(f"/api/v1/courses/{tree.python.pk}/progress/").status_code == 403
    no_report = client.get(f"/api/v1/courses/{tree.python.pk}/gradebook/")
    assert (no_report.status_code, no_report.json()["error"]["code"]) == (403, "insufficient_scope")
    reporter = tokens.service_token_create(account=account, name="report", scopes=["report"], by=admin)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reporter.secret}")
    assert client.get(f"/api/v1/courses/{tree.python.pk}/gradebook/").status_code == 200
    enroller = tokens.service_token_create(account=account, name="enroll", scopes=["enroll", "read"], by=admin)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {enroller.secret}")
    assert client.post(enrollments_url(tree.python), {"users": [{"id": learner.pk}]}, format="json").status_code == 200
    with pytest.raises(tokens.TokenError):
        tokens.service_token_create(account=account, name="x", scopes=["everything"], by=admin)
    with pytest.raises(tokens.TokenError):
        tokens.service_token_create(account=account, name="x", scopes=["read"], by=learner)
    with pytest.raises(tokens.TokenError):
        tokens.service_account_create(name="Again", username="HR-SYNC", by=admin)
