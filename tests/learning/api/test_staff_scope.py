"""Staff scope through the API: an API action on someone's enrollment is allowed exactly when the
admin allows the same action on the same course (issue 19, finding 1).

The world: both courses need approval; "ada" is pending in course A (Python basics) and in
course B (Databases with SQL). Callers: the editor of A and the editor of B (page permissions on
their course, view and change permissions on enrollments), a viewer of A (view permission only),
a staff member with the enrollment permissions but no page permission, a superuser, ada herself
and another learner. Actions: read, approve, cancel. Each cell runs twice in savepoints rolled
back afterwards: once through the admin (inspect page, approve/cancel POSTs), once through the
API, and the two must agree on "allowed" (and, for writes, on what was written: the status and
the audit row). The API's own answers are pinned in ``EXPECTED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient
from wagtail.models import ModelLogEntry

from courses.models import CoursePage, EnrollmentMode
from learning import services
from learning.models import Enrollment
from tests.courses.helpers import Tree
from tests.learning.api.conftest import session_client, token_client
from tests.learning.staff_world import course_editor, staff_member

pytestmark = pytest.mark.django_db

ROLES = ("editor_a", "editor_b", "viewer_a", "model_only", "superuser", "learner", "other")
COURSES = ("a", "b")
ACTIONS = ("read", "approve", "cancel")
ADMIN = "/admin/learning/enrollment/"
ENROLLMENT_PERMISSIONS = (("learning", "view_enrollment"), ("learning", "change_enrollment"))

# The API's answer per role, for course A then course B, per action: a status code.
EXPECTED = """
role        read_a read_b approve_a approve_b cancel_a cancel_b
editor_a    200    404    200       404       200      404
editor_b    404    200    404       200       404      200
viewer_a    200    404    403       404       403      404
model_only  404    404    404       404       404      404
superuser   200    200    200       200       200      200
learner     200    200    403       403       200      200
other       404    404    404       404       404      404
"""


@dataclass
class World:
    users: dict[str, Any]
    enrollments: dict[str, Enrollment]


@pytest.fixture
def world(tree: Tree, learner: Any, other_learner: Any, django_user_model: Any) -> World:
    CoursePage.objects.filter(pk=tree.python.pk).update(enrollment_mode=EnrollmentMode.APPROVAL)
    enrollments = {
        "a": services.enrollment_request(user=learner, course=tree.python.pk).enrollment,
        "b": services.enrollment_request(user=learner, course=tree.sql.pk).enrollment,
    }
    assert {key: row.status for key, row in enrollments.items()} == {
        "a": Enrollment.Status.PENDING_APPROVAL, "b": Enrollment.Status.PENDING_APPROVAL,
    }
    users = {
        "editor_a": course_editor("alice_editor", tree.python),
        "editor_b": course_editor("bruno_editor", tree.sql),
        "viewer_a": staff_member("vera_viewer", tree.python, permissions=(("learning", "view_enrollment"),)),
        "model_only": staff_member("mo_staff", permissions=ENROLLMENT_PERMISSIONS, is_staff=True),
        "superuser": django_user_model.objects.create_superuser("root", "root@example.com", "pw"),
        "learner": learner,
        "other": other_learner,
    }
    return World(users=users, enrollments=enrollments)


def _written(enrollment: Enrollment) -> tuple[str, int]:
    """What a decision leaves behind: the enrollment's status and the number of audit rows."""
    status = Enrollment.objects.get(pk=enrollment.pk).status
    return status, ModelLogEntry.objects.filter(object_id=str(enrollment.pk)).count()


def _admin_allows(client: Client, action: str, enrollment: Enrollment) -> tuple[bool, tuple[str, int]]:
    """The admin's answer: the inspect page opens (read), or the POST wrote the decision."""
    before = _written(enrollment)
    if action == "read":
        return client.get(f"{ADMIN}inspect/{enrollment.pk}/").status_code == 200, before
    client.post(f"{ADMIN}{action}/{enrollment.pk}/")
    after = _written(enrollment)
    return after != before, after


def _api_answer(client: APIClient, action: str, enrollment: Enrollment) -> tuple[int, tuple[str, int]]:
    path = f"/api/v1/enrollments/{enrollment.pk}/"
    response = client.get(path) if action == "read" else client.post(f"{path}{action}/")
    return response.status_code, _written(enrollment)


def _rolled_back(call: Any) -> Any:
    with transaction.atomic():
        result = call()
        transaction.set_rollback(True)
    return result


def _expected() -> dict[tuple[str, str, str], int]:
    header, *lines = EXPECTED.strip().splitlines()
    columns = header.split()[1:]
    assert columns == [f"{action}_{course}" for action in ACTIONS for course in COURSES]
    table = {}
    for line in lines:
        role, *cells = line.split()
        for column, cell in zip(columns, cells, strict=True):
            action, course = column.split("_")
            table[(role, action, course)] = int(cell)
    assert {role for role, _action, _course in table} == set(ROLES)
    return table


@pytest.mark.parametrize("by_token", [False, True], ids=["session", "token"])
def test_api_staff_actions_agree_with_the_admin(world: World, by_token: bool) -> None:
    expected = _expected()
    measured: dict[tuple[str, str, str], int] = {}
    differences: list[str] = []
    for role in ROLES:
        user = world.users[role]
        admin = Client()
        admin.force_login(user)
        api = token_client(user) if by_token else session_client(user)
        for course, enrollment in world.enrollments.items():
            for action in ACTIONS:
                admin_allowed, admin_written = _rolled_back(lambda: _admin_allows(admin, action, enrollment))
                status, api_written = _rolled_back(lambda: _api_answer(api, action, enrollment))
                measured[(role, action, course)] = status
                # The learner acts on her own enrollment as a learner (reading it, leaving the
                # course), which is no staff decision: the admin has no such door.
                as_learner = role == "learner" and action in {"read", "cancel"}
                if not as_learner and (status == 200) != admin_allowed:
                    differences.append(f"{role} {action} {course}: api {status}, admin allowed={admin_allowed}")
                if action != "read" and not as_learner and api_written != admin_written:
                    differences.append(f"{role} {action} {course}: api wrote {api_written}, admin {admin_written}")
    assert differences == []
    assert measured == expected
    assert len(measured) == len(ROLES) * len(COURSES) * len(ACTIONS) == 42


def test_another_courses_enrollment_reads_as_a_strangers(world: World) -> None:
    """Out of scope is indistinguishable from "no such enrollment": same status, same body."""
    client = session_client(world.users["editor_a"])
    out_of_scope = client.get(f"/api/v1/enrollments/{world.enrollments['b'].pk}/")
    missing = client.get("/api/v1/enrollments/999999/")
    assert (out_of_scope.status_code, out_of_scope.json()) == (missing.status_code, missing.json())
    assert out_of_scope.json() == {
        "error": {"code": "not_found", "message": "This enrollment does not exist.", "fields": {}}
    }


@pytest.mark.parametrize("action", ["approve", "cancel"])
def test_services_refuse_staff_of_another_course(world: World, action: str) -> None:
    """The service asks the staff rule itself, so no caller (API, admin, bulk, a plugin) can
    decide on a course that is not the staff member's: Forbidden, nothing written, no audit."""
    enrollment = world.enrollments["a"]
    decide = services.enrollment_approve if action == "approve" else services.enrollment_cancel
    for role in ("editor_b", "model_only"):
        with pytest.raises(services.Forbidden) as refused:
            decide(enrollment=enrollment.pk, by=world.users[role])
        assert (type(refused.value), refused.value.status_code, refused.value.message) == (
            services.Forbidden, 403, "You may not manage the learners of this course.",
        )
    assert _written(enrollment) == (Enrollment.Status.PENDING_APPROVAL, 0)
    result = decide(enrollment=enrollment.pk, by=world.users["editor_a"])
    assert (result.changed, _written(enrollment)[1]) == (True, 1)


def test_staff_enrollment_add_refuses_staff_of_another_course(world: World, tree: Tree, django_user_model: Any) -> None:
    """Manual and bulk enrollment and invitations all go through ``enrollment_add``: it asks the
    same staff rule, so an editor of B cannot enroll anyone in A (nothing written, no audit)."""
    newcomer = django_user_model.objects.create_user("nina", "nina@example.com", "pw")
    for role in ("editor_b", "model_only"):
        with pytest.raises(services.Forbidden) as refused:
            services.enrollment_add(user=newcomer, course=tree.python.pk, by=world.users[role])
        assert refused.value.message == "You may not manage the learners of this course."
    assert Enrollment.objects.filter(user=newcomer).count() == 0
    assert ModelLogEntry.objects.filter(action="learning.enrollment.add").count() == 0
    result = services.enrollment_add(user=newcomer, course=tree.python.pk, by=world.users["editor_a"])
    assert (result.created, result.enrollment.status) == (True, Enrollment.Status.ACTIVE)
