"""Selectors: exact results and a fixed number of queries at 1, 10, 100 and 1000 enrollments."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.brokers import Broker
from django_q.conf import Conf
from wagtail.models import Page, PageViewRestriction, Site

from courses.models import CoursePage, LessonPage
from courses.selectors import course_lessons
from learning import access, selectors, services
from learning.models import Enrollment, Notification
from learning.progress import compute_progress
from tests.courses.helpers import Tree
from tests.learning.bulk import bulk_courses
from tests.tasks.conftest import broker_for, run_queued_tasks

pytestmark = pytest.mark.django_db

ENROLLMENT_COUNTS = [1, 10, 100, 1000]
NOTIFICATIONS = 12
# Measured: see the module docstring of learning.selectors and the closing note of issue 3.
# session, user, live-update cursor (outbox), site root paths, then the selector's five
# Installed plugins' fragments on the page: the certificates plugin's dashboard.card (the
# learner's certificates for the page's courses) and dashboard.side (their name on certificates).
PLUGIN_FRAGMENT_QUERIES = 2
# Cold, the plugins' activation table and the view-restriction snapshot are read once too (then
# cached for every page; the access rules' query no longer joins the restrictions).
# Cold, the courses with due dates are read once too (learning.dates.due_course_paths: none here,
# so the "Due soon / Overdue" section costs nothing more once cached).
DASHBOARD_QUERIES_COLD = 9 + 1 + 1 + 1 + PLUGIN_FRAGMENT_QUERIES
DASHBOARD_QUERIES_WARM = 5 + PLUGIN_FRAGMENT_QUERIES  # user, then the selector's four
# Enrollment count, the page's cards, resume candidates, notifications; the access rules of their
# pages (which are live) come from the page tree's cache (courses.routing.live_paths) once warm.
DASHBOARD_SELECTOR_QUERIES = 4
COURSE_PAGE_PANEL_QUERIES = 2  # the learner's enrollment, their completed lessons


def enroll_in_bulk(user: Any, tree: Tree, count: int) -> tuple[list[CoursePage], list[LessonPage]]:
    """``count`` active enrollments (each in a one-lesson course, progress cached) + notifications."""
    courses, lessons = bulk_courses(tree.catalog, count)
    now = timezone.now()
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                user=user, course_id=course.pk, status=Enrollment.Status.ACTIVE, activated_at=now,
                total_lessons=1, next_lesson_id=lesson.pk, resume_lesson_id=lesson.pk, last_activity_at=now,
            )
            for course, lesson in zip(courses, lessons, strict=True)
        ],
        batch_size=500,
    )
    Notification.objects.bulk_create(
        [Notification(user=user, kind="announcement", title=f"Note {i}") for i in range(NOTIFICATIONS)]
    )
    return courses, lessons


@pytest.mark.parametrize("count", ENROLLMENT_COUNTS)
def test_dashboard_queries_fixed_at_any_enrollment_count(
    count: int, tree: Tree, learner: Any, client: Any, django_assert_num_queries: Any
) -> None:
    courses, lessons = enroll_in_bulk(learner, tree, count)
    client.force_login(learner)
    cache.clear()
    with django_assert_num_queries(DASHBOARD_QUERIES_COLD):
        response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    # One page of cards, newest enrollment first, whatever the number of enrollments.
    assert html.count("data-enrollment ") == min(count, selectors.DASHBOARD_PAGE_SIZE)
    assert f'href="/courses/{courses[-1].slug}/{lessons[-1].slug}/"' in html
    assert f'Your courses <span class="muted small">({count})</span>' in html
    assert html.count("data-notification-id=") == selectors.DASHBOARD_NOTIFICATION_LIMIT
    with django_assert_num_queries(DASHBOARD_QUERIES_WARM):
        assert client.get("/dashboard/").status_code == 200
    # Another page of cards reads whether its pages are live once (then it is cached too).
    other_page = 1 if count > selectors.DASHBOARD_PAGE_SIZE else 0
    with django_assert_num_queries(DASHBOARD_QUERIES_WARM + other_page):
        last = client.get(f"/dashboard/?page={count}")  # past the end (from 13 on) shows the last page
    last_page = -(-count // selectors.DASHBOARD_PAGE_SIZE)
    assert last.context["enrollments_page"].number == last_page
    assert [card.course_id for card in last.context["enrollments_page"].object_list] == [
        course.pk for course in reversed(courses[: count - (last_page - 1) * selectors.DASHBOARD_PAGE_SIZE])
    ]


def course_page_queries(client: Any) -> int:
    client.get("/courses/python-basics/")  # warm Wagtail's site caches and the session
    with CaptureQueriesContext(connection) as page:
        response = client.get("/courses/python-basics/")
    assert response.status_code == 200
    return len(page)


@pytest.mark.parametrize("count", ENROLLMENT_COUNTS)
def test_course_page_progress_panel_queries_fixed_at_any_enrollment_count(
    count: int, tree: Tree, learner: Any, client: Any, django_assert_num_queries: Any
) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    client.force_login(learner)
    page_queries_before = course_page_queries(client)
    enroll_in_bulk(learner, tree, count)
    lessons = list(LessonPage.objects.live().child_of(tree.python).order_by("path"))
    with django_assert_num_queries(COURSE_PAGE_PANEL_QUERIES):
        state = selectors.course_state(user=learner, course=tree.python, lessons=lessons)
    assert (state.status, state.completed_lessons, state.total_lessons, state.percent) == ("active", 1, 3, 33)
    assert state.completed_ids == frozenset({tree.lessons[0].pk})
    # The whole page (Wagtail routing, course content, panel) costs the same with N more enrollments.
    assert course_page_queries(client) == page_queries_before


def test_dashboard_selector_contents(tree: Tree, learner: Any, django_assert_num_queries: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=learner, course=tree.sql)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.lesson_progress_record(user=learner, lesson=tree.lessons[2], completed=False, position=10)
    services.notification_create(user=learner, kind="announcement", title="Read me")
    cache.clear()
    selectors.dashboard(user_id=learner.pk)  # warm the site root paths
    with django_assert_num_queries(DASHBOARD_SELECTOR_QUERIES):
        data = selectors.dashboard(user_id=learner.pk, who=access.viewer(learner))
    sql, python = data.enrollments
    assert (python.course_title, python.status) == ("Python basics", "active")
    assert python.progress == {
        "course_id": tree.python.pk, "completed_lessons": 1, "total_lessons": 3, "percent": 33,
        "status": "active", "status_label": "Active", "course_completed": False,
        "next_lesson": {"id": tree.lessons[1].pk, "title": "Functions", "url": "/courses/python-basics/functions/"},
        "resume_lesson": {"id": tree.lessons[2].pk, "title": "Modules", "url": "/courses/python-basics/modules/"},
    }
    assert (sql.status, sql.status_label, sql.has_access, sql.progress["next_lesson"], sql.course_url) == (
        "pending_approval", "Pending approval", False, None, "/courses/databases-with-sql/",
    )
    assert data.resume == selectors.DashboardResume(
        course_id=tree.python.pk, course_title="Python basics",
        resume_lesson={"id": tree.lessons[2].pk, "title": "Modules", "url": "/courses/python-basics/modules/"},
    )
    assert (data.enrollment_count, data.enrollments_page.number, data.enrollments_page.has_other_pages()) == (2, 1, False)
    assert [note.title for note in data.notifications] == ["Read me"]
    assert data.unread_count == 1


def test_dashboard_without_enrollments_reads_no_card(learner: Any, django_assert_num_queries: Any) -> None:
    selectors.dashboard(user_id=learner.pk)  # warm the site root paths
    with django_assert_num_queries(2):  # the enrollment count, the notifications
        data = selectors.dashboard(user_id=learner.pk, who=access.viewer(learner))
    assert (data.enrollments, data.enrollment_count, data.resume, data.unread_count) == ([], 0, None, 0)


def test_dashboard_resume_is_the_latest_activity_the_learner_may_still_read(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[1], completed=False, position=5)
    courses, lessons = enroll_in_bulk(learner, tree, 3)
    later = timezone.now() + timezone.timedelta(minutes=1)
    Enrollment.objects.filter(course=courses[0]).update(last_activity_at=later)
    Enrollment.objects.filter(course=courses[1]).update(last_activity_at=later + timezone.timedelta(minutes=1))
    Enrollment.objects.filter(course=courses[2]).update(
        status=Enrollment.Status.COMPLETED, last_activity_at=later + timezone.timedelta(minutes=2)
    )
    # Newest first: a completed course, a course behind a password, a course whose resume lesson
    # is unpublished; then the one to resume.
    PageViewRestriction.objects.create(page=courses[1], restriction_type=PageViewRestriction.PASSWORD, password="x")
    Page.objects.filter(pk=lessons[0].pk).update(live=False)
    data = selectors.dashboard(user_id=learner.pk)
    assert data.resume == selectors.DashboardResume(
        course_id=tree.python.pk, course_title="Python basics",
        resume_lesson={"id": tree.lessons[1].pk, "title": "Functions", "url": "/courses/python-basics/functions/"},
    )


def test_recent_notifications_counts_unread_beyond_the_limit(learner: Any, other_learner: Any) -> None:
    Notification.objects.bulk_create(
        [Notification(user=learner, kind="announcement", title=f"n{i}") for i in range(15)]
        + [Notification(user=other_learner, kind="announcement", title="other")]
    )
    Notification.objects.filter(title__in=["n14", "n0"]).update(read_at=timezone.now())
    rows, unread = selectors.recent_notifications(user_id=learner.pk, limit=5)
    assert [row.title for row in rows] == ["n14", "n13", "n12", "n11", "n10"]
    assert unread == 13
    assert selectors.recent_notifications(user_id=9999) == ([], 0)


def test_lesson_state_by_role(tree: Tree, learner: Any, other_learner: Any, editor: Any, django_assert_num_queries: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    lesson = tree.lessons[0]
    with django_assert_num_queries(0):
        anon = selectors.lesson_state(user=AnonymousUser(), lesson=lesson, course=tree.python)
    with django_assert_num_queries(1):
        mine = selectors.lesson_state(user=learner, lesson=lesson, course=tree.python)
    other = selectors.lesson_state(user=other_learner, lesson=lesson, course=tree.python)
    staff_view = selectors.lesson_state(user=editor, lesson=lesson, course=tree.python)
    assert (anon.can_read, anon.status) == (False, "anonymous")
    assert (mine.can_read, mine.completed, mine.status, mine.following) == (True, True, "active", True)
    assert (other.can_read, other.completed, other.status) == (False, False, "not_enrolled")
    assert (staff_view.can_read, staff_view.privileged, staff_view.has_access) == (True, True, False)


@pytest.fixture
def task_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    """The ORM task queue, empty; ``run_queued_tasks`` runs what waits, as the worker would."""
    monkeypatch.setattr(Conf, "ORM", "default")
    broker = broker_for("orm")
    broker.purge_queue()
    yield broker
    broker.purge_queue()


def _course_page_and_dashboard(client: Any, tree: Tree, learner: Any) -> tuple[Any, Any, str, str]:
    """(course page progress, dashboard card progress, their "N of M" texts) for the python course."""
    course_state = selectors.course_state(
        user=learner, course=tree.python, lessons=list(course_lessons(course=tree.python))
    )
    card = next(row for row in selectors.dashboard(user_id=learner.pk).enrollments if row.course_id == tree.python.pk)
    course_html = client.get("/courses/python-basics/").content.decode()
    dashboard_html = client.get("/dashboard/").content.decode()
    count = re.compile(r"data-progress-count>([^<]*)<")
    return course_state.progress, card.progress, count.search(course_html)[1], count.search(dashboard_html)[1]


@pytest.mark.parametrize("change", ["unpublish", "delete", "move_out", "publish_new"])
def test_course_page_and_dashboard_agree_after_the_lesson_set_changes(
    change: str, tree: Tree, learner: Any, task_queue: Broker, django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.courses.helpers import make_lesson

    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    client = Client()
    client.force_login(learner)
    run_queued_tasks(task_queue)
    with django_capture_on_commit_callbacks(execute=True):
        if change == "unpublish":
            LessonPage.objects.get(pk=tree.lessons[2].pk).unpublish()
        elif change == "delete":
            LessonPage.objects.get(pk=tree.lessons[2].pk).delete()
        elif change == "move_out":
            LessonPage.objects.get(pk=tree.lessons[2].pk).move(tree.sql, pos="last-child")
        else:
            make_lesson(tree.python, "Classes")
    assert {task.func for task in run_queued_tasks(task_queue)} >= {"learning.tasks.refresh_course_progress"}
    course_page, card, course_count, dashboard_count = _course_page_and_dashboard(client, tree, learner)
    expected = (1, 4, 25) if change == "publish_new" else (1, 2, 50)
    assert (course_page.completed_lessons, course_page.total_lessons, course_page.percent) == expected
    assert (card["completed_lessons"], card["total_lessons"], card["percent"]) == expected
    assert course_count == dashboard_count == f"{expected[0]} of {expected[1]} lessons"
    assert card["next_lesson"]["id"] == course_page.next_lesson_id == tree.lessons[1].pk


def test_a_notification_linking_a_lesson_unpublished_since_shows_no_dead_link(
    tree: Tree, learner: Any, client: Client,
) -> None:
    services.notification_create(
        user=learner, kind="course_updated", title="Modules changed", link="/courses/python-basics/modules/",
    )
    services.notification_create(
        user=learner, kind="course_updated", title="Functions changed", link="/courses/python-basics/functions/",
    )
    services.notification_create(user=learner, kind="announcement", title="Elsewhere", link="/dashboard/")
    LessonPage.objects.get(pk=tree.lessons[2].pk).unpublish()
    rows, _unread = selectors.recent_notifications(user_id=learner.pk)
    assert [(note.title, note.link_gone) for note in rows] == [
        ("Elsewhere", False), ("Functions changed", False), ("Modules changed", True),
    ]
    client.force_login(learner)
    html = client.get("/dashboard/").content.decode()
    assert '<p class="notification-title">Modules changed</p>' in html
    assert '<a href="/courses/python-basics/modules/">' not in html
    assert '<p class="notification-title"><a href="/courses/python-basics/functions/">Functions changed</a></p>' in html
    assert '<p class="notification-title"><a href="/dashboard/">Elsewhere</a></p>' in html


def test_the_dashboards_unread_text_and_header_badge_show_one_number(learner: Any, client: Client) -> None:
    for n in range(3):
        services.notification_create(user=learner, kind="announcement", title=f"Note {n}")
    client.force_login(learner)
    html = client.get("/dashboard/").content.decode()
    assert 'data-unread-count aria-label="3 unread notifications">3<' in html
    assert '<span class="muted small" data-unread-total="3">(3 unread)</span>' in html


def test_admin_summary_counts(tree: Tree, learner: Any, other_learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.enrollment_request(user=learner, course=tree.sql)
    services.enrollment_request(user=other_learner, course=tree.python)
    services.enrollment_request(user=other_learner, course=tree.sql)
    assert selectors.admin_summary() == {"active_learners": 2, "active_enrollments": 2, "pending_approvals": 2}


def test_compute_progress_ignores_unpublished_and_rounds_down() -> None:
    progress = compute_progress(lesson_ids=[1, 2, 3], completed_ids=[1, 99], last_touched_id=99)
    assert (progress.completed_lessons, progress.total_lessons, progress.percent) == (1, 3, 33)
    assert (progress.next_lesson_id, progress.resume_lesson_id, progress.is_complete) == (2, 2, False)
    empty = compute_progress(lesson_ids=[], completed_ids=[])
    assert (empty.percent, empty.next_lesson_id, empty.is_complete) == (0, None, False)


def test_page_urls_match_wagtail_on_one_site_and_several(tree: Tree, rf: Any) -> None:
    from tests.courses.helpers import make_lesson

    unicode_lesson = make_lesson(tree.python, "Ünïcode", slug="ünïcode-lesson")
    pages = [page.specific for page in Page.objects.filter(depth__gt=1).order_by("path")]

    def same_as_wagtail(request: Any) -> None:
        urls = selectors.PageUrls(request)
        assert [urls.url(page.url_path) for page in pages] == [selectors.page_url(page, request) for page in pages]

    same_as_wagtail(None)
    same_as_wagtail(rf.get("/"))
    assert selectors.PageUrls().url(unicode_lesson.url_path) == "/courses/python-basics/%C3%BCn%C3%AFcode-lesson/"
    assert selectors.PageUrls().url("/elsewhere/page/") == ""
    Site.objects.create(hostname="other.example", port=443, root_page=tree.catalog)
    for host in ("testserver", "other.example"):
        request = rf.get("/", HTTP_HOST=host)
        same_as_wagtail(request)
    assert selectors.PageUrls(rf.get("/", HTTP_HOST="other.example")).url(tree.python.url_path) == (
        "https://other.example/python-basics/"
    )
