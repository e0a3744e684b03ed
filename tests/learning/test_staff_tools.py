"""Course staff tools: learners per course, a learner's timeline, manual enrollment, analytics."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import GroupPagePermission

from courses.models import CoursePage
from learning import access, services, staff_selectors
from learning.models import Enrollment
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import ROLES, client_for, course_editor, outcome, staff_users

pytestmark = pytest.mark.django_db


def learners_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/learners/"


def analytics_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/analytics/"


@pytest.fixture
def enrolled(tree: Tree, learner: Any, other_learner: Any) -> dict[str, Enrollment]:
    """ada in both courses (a lesson of Python done), bob in Python only."""
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.enrollment_request(user=learner, course=tree.sql)
    services.enrollment_request(user=other_learner, course=tree.python)
    return {f"{e.user.username}:{e.course.slug}": e for e in Enrollment.objects.select_related("user", "course")}


MATRIX = {
    # role: (learners of A, learners of B, analytics of A, analytics of B)
    "editor_a": ("ok", "forbidden", "ok", "forbidden"),
    "editor_b": ("forbidden", "ok", "forbidden", "ok"),
    "staff": ("ok", "ok", "ok", "ok"),
    "superuser": ("ok", "ok", "ok", "ok"),
    "learner": ("login", "login", "login", "login"),
    "anonymous": ("login", "login", "login", "login"),
    "teacher_a": ("ok", "forbidden", "ok", "forbidden"),
    "assistant_a": ("ok", "forbidden", "ok", "forbidden"),
    "cohort_assistant_a": ("ok", "forbidden", "ok", "forbidden"),
}


def test_learner_lists_and_analytics_follow_page_permissions(
    tree: Tree, staff: Any, learner: Any, enrolled: dict[str, Enrollment]
) -> None:
    users = staff_users(tree, staff, learner)
    measured = {}
    for role in ROLES:
        client = client_for(users[role])
        measured[role] = tuple(
            outcome(client.get(url))
            for url in (learners_url(tree.python), learners_url(tree.sql), analytics_url(tree.python), analytics_url(tree.sql))
        )
    assert measured == MATRIX


def test_enrollment_admin_lists_only_the_editors_courses(tree: Tree, enrolled: dict[str, Enrollment]) -> None:
    """Finding 8: an editor of course A sees A's learners (and emails), not B's."""
    editor_a = course_editor("alice_editor", tree.python)
    html = logged_in(editor_a).get("/admin/learning/enrollment/").content.decode()
    assert f"inspect/{enrolled['ada:python-basics'].pk}/" in html
    assert f"inspect/{enrolled['ada:databases-with-sql'].pk}/" not in html
    assert "Databases with SQL" not in html
    report = logged_in(editor_a).get("/admin/learning/courseprogressreport/", {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert sorted((row[1], row[2]) for row in rows[1:]) == [
        ("ada@example.com", "Python basics"), ("bob@example.com", "Python basics"),
    ]


def test_learner_list_shows_status_progress_and_lesson_ticks(
    tree: Tree, staff: Any, enrolled: dict[str, Enrollment]
) -> None:
    html = logged_in(staff).get(learners_url(tree.python)).content.decode()
    ada = enrolled["ada:python-basics"]
    row = html[html.index(f'data-enrollment="{ada.pk}"'):]
    row = row[: row.index("</tr>")]
    assert "Active" in row and "33% (1 of 3)" in row
    assert row.count('aria-label="completed"') == 1 and row.count('aria-label="not completed"') == 2
    assert "bob@example.com" in html and "2 learners" in html


def test_learner_list_searches_and_filters(tree: Tree, staff: Any, enrolled: dict[str, Enrollment]) -> None:
    client = logged_in(staff)
    found = client.get(learners_url(tree.python), {"q": "bob@"}).content.decode()
    assert "bob@example.com" in found and "ada@example.com" not in found
    not_started = client.get(learners_url(tree.python), {"status": "not_started"}).content.decode()
    assert "bob@example.com" in not_started and "ada@example.com" not in not_started
    bogus = client.get(learners_url(tree.python), {"status": "nonsense", "p": "abc"})
    assert bogus.status_code == 200 and "2 learners" in bogus.content.decode()
    # A NUL byte never reaches the database (PostgreSQL refuses it in text: a 500 before).
    nul = client.get(learners_url(tree.python), {"q": "bob\x00@", "p": "\x00"})
    assert nul.status_code == 200 and "bob@example.com" in nul.content.decode()


def test_learner_list_queries_do_not_grow_with_learners(tree: Tree, staff: Any) -> None:
    client = logged_in(staff)
    client.get(learners_url(tree.python))  # warm Wagtail's per-process caches

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(learners_url(tree.python)).status_code == 200
        return len(queries)

    for index in range(3):
        services.enrollment_request(user=make_user(f"warm{index}"), course=tree.python)
    few = count()
    for index in range(30):
        user = make_user(f"many{index}")
        services.enrollment_request(user=user, course=tree.python)
        services.lesson_progress_record(user=user, lesson=tree.lessons[index % 3])
    assert count() == few


def test_learner_detail_has_the_timeline(tree: Tree, staff: Any, learner: Any, enrolled: dict[str, Enrollment]) -> None:
    pending = enrolled["ada:databases-with-sql"]
    services.enrollment_approve(enrollment=pending.pk, by=staff)
    html = logged_in(staff).get(f"{learners_url(tree.sql)}{pending.pk}/").content.decode()
    timeline = html[html.index("data-learner-timeline"):]
    assert "Asked to join" in timeline
    assert "Enrollment approved: by sam" in timeline
    python = enrolled["ada:python-basics"]
    html = logged_in(staff).get(f"{learners_url(tree.python)}{python.pk}/").content.decode()
    assert "Completed a lesson: Variables" in html
    # A learner of another course is not reached through this course's URL.
    assert logged_in(staff).get(f"{learners_url(tree.sql)}{python.pk}/").status_code == 404


def test_staff_enroll_and_unenroll_one_learner(tree: Tree, staff: Any, other_learner: Any, captured_events: list) -> None:
    client = logged_in(staff)
    response = client.post(f"{learners_url(tree.sql)}enroll/", {"learner": "BOB@example.com"})
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(user=other_learner, course=tree.sql)
    assert enrollment.status == Enrollment.Status.ACTIVE  # staff decided: no approval needed
    assert enrollment.decided_by == staff
    again = client.post(f"{learners_url(tree.sql)}enroll/", {"learner": "bob"}, follow=True)
    assert "was already enrolled" in again.content.decode()
    unknown = client.post(f"{learners_url(tree.sql)}enroll/", {"learner": "nobody"}, follow=True)
    assert "No single user" in unknown.content.decode()
    client.post(f"{learners_url(tree.sql)}{enrollment.pk}/unenroll/")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.CANCELLED
    from wagtail.models import ModelLogEntry

    actions = list(ModelLogEntry.objects.filter(object_id=str(enrollment.pk)).order_by("pk").values_list("action", flat=True))
    assert actions == ["learning.enrollment.add", "learning.enrollment.cancel"]


def test_editor_of_another_course_cannot_enroll(tree: Tree, other_learner: Any) -> None:
    editor_a = course_editor("alice_editor", tree.python)
    response = logged_in(editor_a).post(f"{learners_url(tree.sql)}enroll/", {"learner": "bob"})
    assert outcome(response) == "forbidden"
    assert not Enrollment.objects.filter(user=other_learner).exists()


def test_enrolling_by_get_is_refused(tree: Tree, staff: Any) -> None:
    assert logged_in(staff).get(f"{learners_url(tree.sql)}enroll/").status_code == 405


def test_unknown_course_is_404(staff: Any, tree: Tree) -> None:
    assert logged_in(staff).get("/admin/learning/courses/987654/learners/").status_code == 404
    assert logged_in(staff).get(f"/admin/learning/courses/{tree.lessons[0].pk}/learners/").status_code == 404


def test_course_page_has_a_learners_button(tree: Tree, staff: Any) -> None:
    html = logged_in(staff).get(f"/admin/pages/{tree.python.pk}/edit/").content.decode()
    assert learners_url(tree.python) in html
    listing = logged_in(staff).get(f"/admin/pages/{tree.python.pk}/").content.decode()
    assert learners_url(tree.python) in listing
    editor_b = course_editor("bruno_editor", tree.sql)
    assert learners_url(tree.python) not in logged_in(editor_b).get(f"/admin/pages/{tree.sql.pk}/").content.decode()


def test_analytics_funnel_numbers_and_csv(tree: Tree, staff: Any, enrolled: dict[str, Enrollment]) -> None:
    data = staff_selectors.course_analytics(course=tree.python)
    assert [(row.lesson.number, row.reached, row.completed, row.stopped_here) for row in data.funnel] == [
        (1, 1, 1, 1), (2, 0, 0, 0), (3, 0, 0, 0),
    ]
    assert (data.enrollments, data.with_access, data.completed, data.median_days_to_complete) == (2, 2, 0, None)
    html = logged_in(staff).get(analytics_url(tree.python)).content.decode()
    assert "<svg" in html and "Lesson funnel of Python basics" in html and "data-funnel-table" in html
    response = logged_in(staff).get(analytics_url(tree.python), {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["Lesson number", "Lesson", "Published", "Reached", "Completed", "Stopped here"],
        ["1", "Variables", "yes", "1", "1", "1"], ["2", "Functions", "yes", "0", "0", "0"],
        ["3", "Modules", "yes", "0", "0", "0"],
    ]


def test_analytics_selector_queries_are_fixed(tree: Tree, enrolled: dict[str, Enrollment]) -> None:
    # lessons, counts by status, per-lesson counts, furthest lesson per learner, enrollment times
    with CaptureQueriesContext(connection) as queries:
        staff_selectors.course_analytics(course=tree.python)
    assert len(queries) == 5
    for index in range(20):
        user = make_user(f"more{index}")
        services.enrollment_request(user=user, course=tree.python)
        services.lesson_progress_record(user=user, lesson=tree.lessons[index % 3])
    with CaptureQueriesContext(connection) as queries:
        staff_selectors.course_analytics(course=tree.python)
    assert len(queries) == 5


def _bulk_learners(tree: Tree, count: int) -> None:
    """``count`` learners in Python basics with progress rows spread over its lessons (bulk
    inserts: the point is the selectors' cost, not the services')."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from learning.models import LessonProgress

    user_model = get_user_model()
    user_model.objects.bulk_create([user_model(username=f"load{i}", email=f"load{i}@example.com") for i in range(count)], batch_size=2000)
    users = list(user_model.objects.filter(username__startswith="load").order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    enrollments, progress = [], []
    for index, user_id in enumerate(users):
        done = index % 4  # 0..3 lessons completed
        start = now - timedelta(days=index % 30, hours=2)
        enrollments.append(Enrollment(
            user_id=user_id, course=tree.python, status=Enrollment.Status.COMPLETED if done == 3 else Enrollment.Status.ACTIVE,
            activated_at=start, completed_at=start + timedelta(hours=1) if done == 3 else None,
            completed_lessons=done, total_lessons=3, progress_percent=done * 100 // 3, last_activity_at=start,
        ))
        for lesson in tree.lessons[: done + 1]:
            finished = lesson in tree.lessons[:done]
            progress.append(LessonProgress(
                user_id=user_id, lesson=lesson, course=tree.python, completed_at=start + timedelta(minutes=20) if finished else None,
            ))
    Enrollment.objects.bulk_create(enrollments, batch_size=2000)
    LessonProgress.objects.bulk_create(progress, batch_size=2000)


@pytest.mark.parametrize("count", [10, pytest.param(10_000, marks=pytest.mark.postgres)])
def test_analytics_and_learner_list_queries_at_scale(tree: Tree, staff: Any, count: int) -> None:
    """Exact query counts at 10 and 10,000 enrollments (the timings are printed for the notes)."""
    import time

    from academy.plugins import activation

    _bulk_learners(tree, count)
    # The lessons counted are those of the kinds active in the course: the plugins' activation
    # table is cached, as on every request after the first.
    activation.table()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        data = staff_selectors.course_analytics(course=tree.python)
    analytics_seconds = time.perf_counter() - started
    assert len(queries) == 5
    assert data.enrollments == count
    assert data.funnel[0].reached == count  # everyone opened lesson 1
    assert data.completed == len([i for i in range(count) if i % 4 == 3])
    client = logged_in(staff)
    client.get(learners_url(tree.python))
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as page_queries:
        assert client.get(learners_url(tree.python)).status_code == 200
    list_seconds = time.perf_counter() - started
    with CaptureQueriesContext(connection) as live_queries:
        staff_selectors.live_class(course=tree.python)
    assert len(live_queries) == 5
    print(f"\n{count} enrollments: analytics {len(queries)} queries {analytics_seconds * 1000:.0f} ms; "
          f"learner list page {len(page_queries)} queries {list_seconds * 1000:.0f} ms; live class {len(live_queries)} queries")


@pytest.mark.parametrize("held_first", [True, False])
def test_staff_rule_remembers_each_permission_set_on_its_own(tree: Tree, held_first: bool) -> None:
    """One request, two callers naming different model permissions: each gets its own answer,
    in either order, and asking again is free."""
    group = Group.objects.create(name="Readers of Python basics")
    group.permissions.add(Permission.objects.get(codename="view_enrollment", content_type__app_label="learning"))
    GroupPagePermission.objects.create(
        group=group, page=tree.python,
        permission=Permission.objects.get(codename="change_page", content_type__app_label="wagtailcore"),
    )
    make_user("rita").groups.add(group)
    who = access.viewer(get_user_model().objects.get(username="rita"))
    held, missing = ("learning.view_enrollment",), ("learning.delete_enrollment",)
    first, second = (held, missing) if held_first else (missing, held)
    assert access.staff_course_paths(who, permissions=first) == ((tree.python.path,) if held_first else ())
    assert access.staff_course_paths(who, permissions=second) == (() if held_first else (tree.python.path,))
    with CaptureQueriesContext(connection) as queries:
        assert access.staff_course_paths(who, permissions=held) == (tree.python.path,)
        assert access.staff_course_paths(who, permissions=missing) == ()
        assert access.may_see_learners(who, tree.python, permissions=held)
        assert not access.may_see_learners(who, tree.python, permissions=missing)
        assert not access.may_see_learners(who, tree.sql, permissions=held)
    assert len(queries) == 1  # the view restrictions (may_see_learners' admin_may_see), once
    visible = CoursePage.objects.filter(access.staff_course_filter(who, prefix="", permissions=held))
    assert list(visible.values_list("pk", flat=True)) == [tree.python.pk]
    assert not CoursePage.objects.filter(access.staff_course_filter(who, prefix="", permissions=missing)).exists()
    # The default (a permission on enrollments) is a third set: rita holds view_enrollment.
    assert access.staff_course_paths(who) == (tree.python.path,)
