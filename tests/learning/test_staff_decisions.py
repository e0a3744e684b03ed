"""Staff decisions on enrollments: never on their own, always in Wagtail's audit log (read-only
in the admin); the admin lists only courses the user may see; CSV cells cannot run formulas."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from wagtail.models import ModelLogEntry, PageViewRestriction

from learning import services
from learning.admin_views import spreadsheet_safe
from learning.models import Enrollment
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user

pytestmark = pytest.mark.django_db

INDEX = "/admin/learning/enrollment/"
REPORT = "/admin/learning/courseprogressreport/"


def refused_in_admin(response: Any) -> bool:
    """Wagtail's answer to PermissionDenied in the admin: back to the admin home."""
    return (response.status_code, response.get("Location")) == (302, "/admin/")


def test_staff_cannot_approve_their_own_enrollment(tree: Tree, staff: Any) -> None:
    own = services.enrollment_request(user=staff, course=tree.sql).enrollment
    with pytest.raises(services.OwnEnrollment) as refused:
        services.enrollment_approve(enrollment=own, by=staff)
    assert refused.value.status_code == 403
    client = logged_in(staff)
    assert f"{INDEX}approve/{own.pk}/" not in client.get(INDEX).content.decode()
    # Wagtail answers a permission refusal in the admin with a redirect to its home and a message.
    assert refused_in_admin(client.post(f"{INDEX}approve/{own.pk}/"))
    assert refused_in_admin(client.post(f"{INDEX}cancel/{own.pk}/"))
    own.refresh_from_db()
    assert (own.status, own.decided_by_id) == (Enrollment.Status.PENDING_APPROVAL, None)
    assert ModelLogEntry.objects.count() == 0


def test_staff_cannot_cancel_their_own_enrollment_as_staff(tree: Tree, staff: Any) -> None:
    own = services.enrollment_request(user=staff, course=tree.python).enrollment
    with pytest.raises(services.OwnEnrollment):
        services.enrollment_cancel(enrollment=own, by=staff, as_staff=True)
    # Leaving a course of one's own, as a learner, is still allowed (and is no staff decision).
    assert services.enrollment_cancel(enrollment=own, by=staff).changed is True
    assert ModelLogEntry.objects.count() == 0


def test_approval_and_cancellation_are_in_the_audit_log(tree: Tree, staff: Any, learner: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    services.enrollment_approve(enrollment=pending, by=staff)
    services.enrollment_cancel(enrollment=pending, by=staff)
    entries = list(ModelLogEntry.objects.order_by("pk"))
    assert [(entry.action, entry.user_id, entry.object_id, entry.label) for entry in entries] == [
        ("learning.enrollment.approve", staff.pk, str(pending.pk), "ada in Databases with SQL"),
        ("learning.enrollment.cancel", staff.pk, str(pending.pk), "ada in Databases with SQL"),
    ]
    assert [entry.data for entry in entries] == [
        {"enrollment_id": pending.pk, "learner_id": learner.pk, "course_id": tree.sql.pk,
         "from_status": "pending_approval", "to_status": "active"},
        {"enrollment_id": pending.pk, "learner_id": learner.pk, "course_id": tree.sql.pk,
         "from_status": "active", "to_status": "cancelled"},
    ]
    assert all(entry.timestamp is not None for entry in entries)


def test_audit_trail_is_read_only_in_the_admin(tree: Tree, staff: Any, learner: Any, editor: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    services.enrollment_approve(enrollment=pending, by=staff)
    client = logged_in(staff)
    history = client.get(f"{INDEX}history/{pending.pk}/")
    assert history.status_code == 200
    assert "Approved the enrollment" in history.content.decode()
    site_history = client.get("/admin/reports/site-history/")
    assert site_history.status_code == 200
    assert "Approve enrollment" in site_history.content.decode() or "Approved the enrollment" in site_history.content.decode()
    # Without the enrollment permissions, no history page.
    assert logged_in(editor).get(f"{INDEX}history/{pending.pk}/").status_code in (302, 403)
    assert ModelLogEntry.objects.count() == 1


def test_admin_leaves_out_courses_behind_a_restriction_the_user_fails(tree: Tree, learner: Any, other_learner: Any) -> None:
    members = Group.objects.create(name="Members")
    PageViewRestriction.objects.create(page=tree.sql, restriction_type=PageViewRestriction.GROUPS).groups.add(members)
    hidden = services.enrollment_request(user=learner, course=tree.python).enrollment
    Enrollment.objects.create(user=other_learner, course=tree.sql, status=Enrollment.Status.PENDING_APPROVAL)
    private = Enrollment.objects.get(course=tree.sql)
    manager = make_user("mia", is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["access_admin", "change_enrollment", "view_enrollment"])
    )
    manager.groups.add(Group.objects.get(name="Moderators"))  # edits every page
    client = logged_in(manager)
    html = client.get(INDEX).content.decode()
    assert f"inspect/{hidden.pk}/" in html and f"inspect/{private.pk}/" not in html
    assert "Databases with SQL" not in html  # not even in the course filter
    assert refused_in_admin(client.get(f"{INDEX}inspect/{private.pk}/"))
    assert refused_in_admin(client.post(f"{INDEX}approve/{private.pk}/"))
    assert refused_in_admin(client.get(f"{INDEX}history/{private.pk}/"))
    report = client.get(REPORT, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert [row[2] for row in rows[1:]] == ["Python basics"]
    private.refresh_from_db()
    assert private.status == Enrollment.Status.PENDING_APPROVAL
    manager.groups.add(members)
    assert f"inspect/{private.pk}/" in logged_in(manager).get(INDEX).content.decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|'/C calc'!A0", "'=cmd|'/C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ada", "ada"),
        ("", ""),
        (42, 42),
        (None, None),
    ],
)
def test_spreadsheet_safe_cells(value: Any, expected: Any) -> None:
    assert spreadsheet_safe(value) == expected


def test_csv_export_escapes_formula_cells(tree: Tree, staff: Any) -> None:
    attacker = make_user("mallory")
    attacker.email = "=cmd|'/C calc'!A0@example.com"
    attacker.first_name, attacker.last_name = "@SUM(1+1)", "-x"
    attacker.save()
    services.enrollment_request(user=attacker, course=tree.python)
    response = logged_in(staff).get(REPORT, {"export": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][:3] == ["'@SUM(1+1) -x (mallory)", "'=cmd|'/C calc'!A0@example.com", "Python basics"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows[1:] for cell in row)
