"""Who is who for the staff tools' permission matrix: editors of one course each, staff,
a superuser, a learner, an anonymous visitor, and course A's teacher, assistant and assistant
of one cohort (``CourseRole``), over the small tree (Python basics = course A,
Databases with SQL = course B)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from wagtail.models import GroupPagePermission

from tests.courses.helpers import Tree
from tests.learning.conftest import make_user

ROLES = (
    "editor_a", "editor_b", "staff", "superuser", "learner", "anonymous",
    "teacher_a", "assistant_a", "cohort_assistant_a",
)
# The cohort of course A that ``cohort_assistant_a`` assists in (made by ``staff_users``).
COHORT_A = "Spring"


def staff_member(
    username: str,
    *pages: Any,
    permissions: tuple[tuple[str, str], ...],
    page_permissions: tuple[str, ...] = ("change_page",),
    group_name: str = "",
    **fields: Any,
) -> Any:
    """A user with admin access and the model ``permissions`` ((app label, codename) pairs), in a
    group holding the Wagtail ``page_permissions`` on each of ``pages`` (none without pages)."""
    group = Group.objects.create(name=group_name or f"Staff {username}")
    group.permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        *(Permission.objects.get(codename=codename, content_type__app_label=app) for app, codename in permissions),
    )
    for page in pages:
        for codename in page_permissions:
            GroupPagePermission.objects.create(
                group=group, page=page,
                permission=Permission.objects.get(codename=codename, content_type__app_label="wagtailcore"),
            )
    user = make_user(username, **fields)
    user.groups.add(group)
    return get_user_model().objects.get(pk=user.pk)


def course_editor(username: str, course: Any) -> Any:
    """A user whose group may edit and publish ``course`` only, with the learning permissions
    editors have (view and change enrollments)."""
    return staff_member(
        username, course, permissions=(("learning", "view_enrollment"), ("learning", "change_enrollment")),
        page_permissions=("add_page", "change_page", "publish_page"), group_name=f"Editors of {course.title}",
    )


def staff_users(tree: Tree, staff: Any, learner: Any) -> dict[str, Any]:
    """Every role of the matrix (None for the anonymous visitor)."""
    return {
        "editor_a": course_editor("alice_editor", tree.python),
        "editor_b": course_editor("bruno_editor", tree.sql),
        "staff": staff,
        "superuser": get_user_model().objects.create_superuser("root", "root@example.com", "pw"),
        "learner": learner,
        "anonymous": None,
        **role_users(tree),
    }


def role_users(tree: Tree) -> dict[str, Any]:
    """A teacher and an assistant of course A (every cohort), and an assistant of its cohort
    ``COHORT_A`` only: role holders without page permissions or learning model permissions."""
    from learning.models import Cohort

    spring = Cohort.objects.get_or_create(course=tree.python, name=COHORT_A)[0]
    return {
        "teacher_a": course_role("tina_teacher", tree.python, "teacher"),
        "assistant_a": course_role("andy_assistant", tree.python, "assistant"),
        "cohort_assistant_a": course_role("cora_assistant", tree.python, "assistant", cohort=spring),
    }


def client_for(user: Any) -> Client:
    """A client logged in as ``user`` (no session for None)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def outcome(response: Any) -> str:
    """"ok", "forbidden", "missing" or "login" (a redirect to a login page)."""
    if response.status_code == 200:
        return "ok"
    if response.status_code == 302 and "login" in response["Location"]:
        return "login"
    if response.status_code == 302 and response["Location"].rstrip("/").endswith("/admin"):
        return "forbidden"  # Wagtail turns a PermissionDenied into a redirect home with a message
    return {403: "forbidden", 404: "missing"}.get(response.status_code, str(response.status_code))


def course_role(username: str, course: Any, role: str, *, cohort: Any = None) -> Any:
    """A user with only a teacher or assistant ``role`` in ``course`` (or in its ``cohort``),
    given by a superuser through ``learning.cohorts.role_grant`` (which adds the course staff
    group: admin access and nothing else)."""
    from learning import cohorts

    granter = get_user_model().objects.filter(username="role_granter").first() or get_user_model().objects.create_superuser(
        "role_granter", "role_granter@example.com", "pw"
    )
    user = get_user_model().objects.filter(username=username).first() or make_user(username)
    cohorts.role_grant(course=course, user=user, role=role, by=granter, cohort=cohort)
    return get_user_model().objects.get(pk=user.pk)
