"""Wagtail admin: enrollments (filters, search, approve/cancel), progress report CSV, home panel."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone
from wagtail.models import Page

from learning import services
from learning.models import Enrollment, Notification
from tests.courses.helpers import Tree, logged_in

pytestmark = pytest.mark.django_db

INDEX = "/admin/learning/enrollment/"
REPORT = "/admin/learning/courseprogressreport/"


@pytest.fixture
def pending(tree: Tree, learner: Any) -> Enrollment:
    return services.enrollment_request(user=learner, course=tree.sql).enrollment


def test_learner_never_reaches_the_admin(learner: Any) -> None:
    client = logged_in(learner)
    for url in ("/admin/", INDEX, REPORT):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_editor_without_enrollment_permissions_is_refused(editor: Any, pending: Enrollment) -> None:
    client = logged_in(editor)
    assert client.get("/admin/").status_code == 200
    assert client.get(INDEX).status_code in (302, 403)
    assert client.post(f"{INDEX}approve/{pending.pk}/").status_code in (302, 403)
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING_APPROVAL


def test_editor_with_view_permission_lists_but_cannot_approve(editor: Any, pending: Enrollment) -> None:
    editor.user_permissions.add(Permission.objects.get(codename="view_enrollment"))
    client = logged_in(editor)
    html = client.get(INDEX).content.decode()
    assert "ada" in html
    assert f"approve/{pending.pk}/" not in html
    assert client.post(f"{INDEX}approve/{pending.pk}/").status_code in (302, 403)
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING_APPROVAL


def test_staff_lists_filters_and_searches(tree: Tree, staff: Any, pending: Enrollment, other_learner: Any) -> None:
    active = services.enrollment_request(user=other_learner, course=tree.python).enrollment
    client = logged_in(staff)
    html = client.get(INDEX).content.decode()
    assert f"{INDEX}approve/{pending.pk}/" in html
    assert f"{INDEX}cancel/{pending.pk}/" in html
    assert f"{INDEX}edit/" not in html and f"{INDEX}create/" not in html
    pending_only = client.get(INDEX, {"status": "pending_approval"}).content.decode()
    assert f"inspect/{pending.pk}/" in pending_only and f"inspect/{active.pk}/" not in pending_only
    found = client.get(INDEX, {"q": "bob@example"}).content.decode()
    assert f"inspect/{active.pk}/" in found and f"inspect/{pending.pk}/" not in found
    assert client.get(f"{INDEX}inspect/{pending.pk}/").status_code == 200


def test_staff_approves_through_the_admin_and_learner_is_notified(
    staff: Any, pending: Enrollment, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in(staff)
    confirm = client.get(f"{INDEX}approve/{pending.pk}/")
    assert confirm.status_code == 200
    assert "Approve enrollment" in confirm.content.decode()
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING_APPROVAL  # GET changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{INDEX}approve/{pending.pk}/")
    assert (response.status_code, response["Location"]) == (302, INDEX)
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by_id) == (Enrollment.Status.ACTIVE, staff.pk)
    latest = Notification.objects.filter(user=learner).first()
    assert (latest.kind, latest.title) == ("enrollment_approved", "Your enrollment in Databases with SQL was approved")
    # An active enrollment has no approve action any more.
    assert client.post(f"{INDEX}approve/{pending.pk}/").status_code in (302, 403)


def test_staff_cancels_through_the_admin(
    staff: Any, pending: Enrollment, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(staff).post(f"{INDEX}cancel/{pending.pk}/")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.CANCELLED
    assert Notification.objects.filter(user=learner).first().kind == "enrollment_cancelled"


def test_unknown_enrollment_action_is_404(staff: Any) -> None:
    assert logged_in(staff).post(f"{INDEX}approve/987654/").status_code == 404


def test_progress_report_lists_and_exports_csv(tree: Tree, staff: Any, learner: Any, other_learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.enrollment_request(user=other_learner, course=tree.python)
    client = logged_in(staff)
    html = client.get(REPORT, {"course__id__exact": tree.python.pk}).content.decode()
    assert "ada" in html and "bob" in html
    response = client.get(REPORT, {"export": "csv", "course__id__exact": tree.python.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Learner", "Email", "Course", "Status", "Percent Complete", "Lessons Completed",
                       "Lessons In The Course", "Last Activity At", "Requested At", "Cohort"]
    by_email = {row[1]: row for row in rows[1:]}
    assert sorted(by_email) == ["ada@example.com", "bob@example.com"]
    # Finding 7: status labels, numbers as numbers (no "1 of 3" text), ISO times to the second.
    assert by_email["ada@example.com"][2:7] == ["Python basics", "Active", "33", "1", "3"]
    assert by_email["bob@example.com"][2:8] == ["Python basics", "Active", "0", "0", "3", ""]
    enrolled = Enrollment.objects.get(user=learner).requested_at
    assert by_email["ada@example.com"][8] == timezone.localtime(enrolled).replace(microsecond=0).isoformat()
    assert by_email["ada@example.com"][9] == "Open enrollment"  # self-enrolled: the default cohort
    assert "." not in by_email["ada@example.com"][7] and "T" in by_email["ada@example.com"][7]


def test_progress_report_refused_without_permission(editor: Any) -> None:
    assert logged_in(editor).get(REPORT, {"export": "csv"}).status_code in (302, 403)


def test_admin_home_summary_panel(tree: Tree, staff: Any, editor: Any, pending: Enrollment, other_learner: Any) -> None:
    services.enrollment_request(user=other_learner, course=tree.python)
    html = logged_in(staff).get("/admin/").content.decode()
    assert "<strong data-active-learners>1</strong> active learner" in html
    assert "<strong data-pending-approvals>1</strong> pending approval" in html
    assert "data-learning-summary" not in logged_in(editor).get("/admin/").content.decode()


@pytest.mark.parametrize("path", ["approve/abc/", "cancel/abc/", "inspect/abc/", "approve/99999999999999999999999/"])
def test_malformed_enrollment_id_in_admin_urls_is_404(staff: Any, path: str) -> None:
    assert logged_in(staff).get(f"{INDEX}{path}").status_code == 404


@pytest.mark.parametrize("query", ["?course=abc", "?course__id__exact=abc", "?status=nope&course=1x"])
def test_malformed_admin_list_filter_falls_back_to_the_whole_list(staff: Any, pending: Enrollment, query: str) -> None:
    client = logged_in(staff)
    for index in (INDEX, REPORT):
        response = client.get(f"{index}{query}")
        assert response.status_code == 302
        assert response["Location"] == index
        assert client.get(response["Location"]).status_code == 200


BIG_ID = "99999999999999999999"  # beyond 64 bits: an OverflowError on SQLite if it reached the query


@pytest.mark.parametrize(
    "query",
    [
        f"?course={BIG_ID}",
        f"?course__id__exact={BIG_ID}",
        f"?course__id__exact=-{BIG_ID}",
        "?course__id__exact=9223372036854775808",  # 2**63: one past the largest 64-bit id
        f"?course__page_ptr__exact={BIG_ID}",  # the course filter widget's own parameter
        f"?course=1&course={BIG_ID}",
        f"?course__id__in=1,{BIG_ID}",
        f"?user={BIG_ID}",
        f"?decided_by={BIG_ID}",
        f"?id={BIG_ID}",
        "?status__exact=nope",
    ],
)
def test_out_of_range_admin_filter_falls_back_to_the_whole_list(staff: Any, pending: Enrollment, query: str) -> None:
    client = logged_in(staff)
    for index in (INDEX, REPORT):
        response = client.get(f"{index}{query}")
        assert (response.status_code, response["Location"]) == (302, index)
        listing = client.get(response["Location"])
        assert listing.status_code == 200
        assert "That filter is not valid; showing the whole list." in listing.content.decode()


@pytest.mark.parametrize("query", ["?user__password__startswith=pbkdf2", "?user__email__contains=ada", "?user__is_superuser=0"])
def test_admin_list_refuses_lookups_outside_its_filters(staff: Any, pending: Enrollment, query: str) -> None:
    # wagtail-modeladmin would pass these to QuerySet.filter: a staff member could narrow down
    # other users' password hashes one character at a time.
    client = logged_in(staff)
    for index in (INDEX, REPORT):
        response = client.get(f"{index}{query}")
        assert (response.status_code, response["Location"]) == (302, index)


def test_admin_list_filters_by_course_id_and_status(
    tree: Tree, staff: Any, pending: Enrollment, other_learner: Any
) -> None:
    active = services.enrollment_request(user=other_learner, course=tree.python).enrollment
    client = logged_in(staff)
    for query in (
        {"course": tree.python.pk},
        {"course__id__exact": tree.python.pk},
        {"course__page_ptr__exact": tree.python.pk},
        {"status": "active"},
        {"status__exact": "active"},
    ):
        response = client.get(INDEX, query)
        assert response.status_code == 200, query
        html = response.content.decode()
        assert (f"inspect/{active.pk}/" in html, f"inspect/{pending.pk}/" in html) == (True, False), query
    # The largest id the database takes (2**31 - 1 on PostgreSQL, 2**63 - 1 on SQLite) matches
    # nothing: an empty list, not an error; one more is refused as above.
    largest = connection.ops.integer_field_range(Page._meta.pk.get_internal_type())[1]
    assert client.get(INDEX, {"course": largest + 1}).status_code == 302
    empty = client.get(INDEX, {"course": largest})
    assert empty.status_code == 200
    assert f"inspect/{active.pk}/" not in empty.content.decode()
