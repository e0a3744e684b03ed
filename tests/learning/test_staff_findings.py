"""Issue 14's findings, one test each (8 is in test_staff_tools.py's permission tests)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from wagtail.models import GroupPagePermission, Page

from courses.models import CoursePage, LessonPage
from learning import services
from learning.models import Enrollment
from tests.courses.helpers import Tree, add_page, lesson_form_data, logged_in
from tests.learning.conftest import make_user

pytestmark = pytest.mark.django_db

INDEX = "/admin/learning/enrollment/"


@pytest.fixture
def pending(tree: Tree, learner: Any) -> Enrollment:
    return services.enrollment_request(user=learner, course=tree.sql).enrollment


def test_1_course_lessons_are_listed_in_course_order_with_numbers(tree: Tree, staff: Any) -> None:
    # Edit the first lesson last, so "most recently updated first" would put it on top.
    first = tree.lessons[0]
    first.save_revision().publish()
    html = logged_in(staff).get(f"/admin/pages/{tree.python.pk}/").content.decode()
    titles = list(dict.fromkeys(re.findall(r"\b([123])\. (Variables|Functions|Modules)\b", html)))
    assert titles == [
        ("1", "Variables"), ("2", "Functions"), ("3", "Modules"),
    ]
    assert CoursePage.admin_default_ordering == "ord"


def test_2_unpublish_and_delete_of_a_course_with_learners_warn_with_counts(
    tree: Tree, staff: Any, learner: Any, other_learner: Any, pending: Enrollment
) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.enrollment_request(user=other_learner, course=tree.python)
    superuser = make_user("root", is_superuser=True)
    client = logged_in(superuser)
    unpublish = client.get(f"/admin/pages/{tree.python.pk}/unpublish/").content.decode()
    assert "This course has 2 enrolled learners." in unpublish
    assert "their enrollments and progress are kept" in unpublish
    delete = client.get(f"/admin/pages/{tree.python.pk}/delete/").content.decode()
    assert "Deleting it deletes their enrollments and 1 lesson progress record for good" in delete
    lesson = client.get(f"/admin/pages/{tree.lessons[0].pk}/unpublish/").content.decode()
    assert "1 learner completed this lesson; 2 learners can open its course." in lesson
    sql = client.get(f"/admin/pages/{tree.sql.pk}/unpublish/").content.decode()
    assert "This course has no enrolled learners and 1 pending request." in sql


def test_2_dashboard_never_links_to_an_unpublished_lesson(tree: Tree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.lesson_progress_record(user=learner, lesson=tree.lessons[1], completed=False, position=30)
    client = logged_in(learner)
    resume_title = f"<span data-resume-title>{tree.lessons[1].title}</span>"  # "Continue <title>"
    assert resume_title in client.get("/dashboard/").content.decode()
    tree.lessons[1].unpublish()
    html = client.get("/dashboard/").content.decode()
    assert tree.lessons[1].url_path.split("/")[-2] not in html
    assert resume_title not in html
    tree.python.unpublish()
    html = client.get("/dashboard/").content.decode()
    assert "/courses/python-basics/" not in html


def test_3_a_stale_approve_link_says_who_approved_and_goes_back_to_the_queue(
    staff: Any, pending: Enrollment
) -> None:
    services.enrollment_approve(enrollment=pending.pk, by=staff)
    for colleague in (make_user("root", is_superuser=True), staff):
        client = logged_in(colleague)
        response = client.get(f"{INDEX}approve/{pending.pk}/")
        assert response.status_code == 302 and response["Location"] == INDEX
        page = client.get(INDEX).content.decode()
        assert "was already approved by sam at" in page
        assert "do not have permission" not in page
    cancelled = logged_in(staff)
    services.enrollment_cancel(enrollment=pending.pk, by=staff, as_staff=True)
    response = cancelled.post(f"{INDEX}cancel/{pending.pk}/", follow=True)
    assert "was already cancelled by sam at" in response.content.decode()


def test_3_a_link_to_a_course_the_user_may_not_see_stays_refused(tree: Tree, pending: Enrollment) -> None:
    from tests.learning.staff_world import course_editor, outcome

    editor_a = course_editor("alice_editor", tree.python)
    assert outcome(logged_in(editor_a).get(f"{INDEX}approve/{pending.pk}/")) == "forbidden"


def test_4_confirmation_and_buttons_read_in_words(staff: Any, pending: Enrollment) -> None:
    client = logged_in(staff)
    confirm = client.get(f"{INDEX}approve/{pending.pk}/").content.decode()
    assert "ada in Databases with SQL" in confirm
    assert "pending_approval" not in confirm and f"in {pending.course_id} (" not in confirm
    listing = client.get(INDEX).content.decode()
    assert "Cancel enrollment" in listing and "Approve enrollment" in listing
    assert re.search(r">\s*Cancel\s*<", listing) is None


def test_5_minor_change_publishes_without_notifying(
    tree: Tree, staff: Any, learner: Any, captured_events: list, django_capture_on_commit_callbacks: Any
) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    lesson = tree.lessons[0]
    client = logged_in(make_user("root", is_superuser=True))
    edit = client.get(f"/admin/pages/{lesson.pk}/edit/").content.decode()
    assert "data-academy-quiet-publish" in edit and "minor change, don&#x27;t notify learners" in edit
    data = lesson_form_data("Variables", lesson.slug, summary="Fixed a typo.")
    data["action-publish"] = "quiet"
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/pages/{lesson.pk}/edit/", data)
    assert response.status_code == 302
    published = [payload for name, payload in captured_events if name == "course_content_published"]
    assert [payload["notify"] for payload in published] == [False]
    from realtime.models import Event

    assert not Event.objects.filter(type="course.updated").exists()
    # An ordinary publish still notifies.
    data["action-publish"] = "action-publish"
    captured_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/pages/{lesson.pk}/edit/", data)
    assert [p["notify"] for n, p in captured_events if n == "course_content_published"] == [True]
    assert Event.objects.filter(type="course.updated").count() == 1


def _catalog_editor(tree: Tree) -> Any:
    group = Group.objects.create(name="Catalog writers")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_page", "change_page"):
        GroupPagePermission.objects.create(
            group=group, page=tree.catalog,
            permission=Permission.objects.get(codename=codename, content_type__app_label="wagtailcore"),
        )
    user = make_user("wes")
    user.groups.add(group)
    return user


def test_6_editors_delete_their_own_never_published_drafts(tree: Tree) -> None:
    writer = _catalog_editor(tree)
    draft = add_page(tree.catalog, CoursePage(title="Stray", slug="stray", summary="s", description="<p>d</p>", owner=writer), live=False)
    add_page(draft, LessonPage(title="Stray lesson", slug="stray-lesson", owner=writer), live=False)
    client = logged_in(writer)
    assert not Page.objects.get(pk=draft.pk).permissions_for_user(writer).can_delete()  # Wagtail refuses
    listing = client.get(f"/admin/pages/{draft.pk}/").content.decode()
    assert f"/admin/learning/drafts/{draft.pk}/delete/" in listing
    assert client.get(f"/admin/learning/drafts/{draft.pk}/delete/").status_code == 200
    response = client.post(f"/admin/learning/drafts/{draft.pk}/delete/")
    assert response.status_code == 302
    assert not Page.objects.filter(slug__in=["stray", "stray-lesson"]).exists()


def test_6_published_or_someone_elses_pages_are_not_drafts_to_delete(tree: Tree) -> None:
    writer = _catalog_editor(tree)
    other = add_page(tree.catalog, CoursePage(title="Theirs", slug="theirs", summary="s", description="<p>d</p>"), live=False)
    client = logged_in(writer)
    from tests.learning.staff_world import outcome

    assert outcome(client.post(f"/admin/learning/drafts/{other.pk}/delete/")) == "forbidden"
    mine = add_page(tree.catalog, CoursePage(title="Mine", slug="mine", summary="s", description="<p>d</p>", owner=writer), live=True)
    mine.unpublish()
    assert outcome(client.post(f"/admin/learning/drafts/{mine.pk}/delete/")) == "forbidden"
    assert Page.objects.filter(pk__in=[other.pk, mine.pk]).count() == 2


def test_7_inspect_page_shows_zero_not_a_dash(staff: Any, pending: Enrollment) -> None:
    html = logged_in(staff).get(f"{INDEX}inspect/{pending.pk}/").content.decode()
    fields = dict(re.findall(r"<dt[^>]*>\s*(.*?)\s*</dt>\s*<dd>\s*(.*?)\s*</dd>", html, re.S))
    assert fields["completed lessons"] == "0", fields
    assert fields["progress percent"] == "0", fields


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_9_index_tasks_for_one_page_run_one_at_a_time(tree: Tree) -> None:
    """Two copies of the same index task: the second waits for the first's transaction."""
    from academy.tasks import _serialise

    args = ["courses", "lessonpage", tree.lessons[0].pk]
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        from django.db import connection as conn
        from django.db import transaction

        with transaction.atomic():
            _serialise("modelsearch.tasks.insert_or_update_object_task", args, {})
            holding.set()
            release.wait(30)
            order.append("first done")
        conn.close()

    def second() -> None:
        from django.db import connection as conn
        from django.db import transaction

        with transaction.atomic():
            _serialise("modelsearch.tasks.insert_or_update_object_task", args, {})
            order.append("second ran")
        conn.close()

    one = threading.Thread(target=first)
    one.start()
    holding.wait(30)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)
    order.append("released")
    release.set()
    one.join(30)
    two.join(30)
    assert order == ["released", "first done", "second ran"]
    assert connection.vendor == "postgresql"


def test_7_xlsx_export_has_labels_numbers_and_whole_second_times(tree: Tree, staff: Any, learner: Any) -> None:
    import io

    from openpyxl import load_workbook

    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    response = logged_in(staff).get("/admin/learning/courseprogressreport/", {"export": "xlsx"})
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content)).active
    header, row = [cell.value for cell in sheet[1]], [cell.value for cell in sheet[2]]
    assert header[3:7] == ["Status", "Percent Complete", "Lessons Completed", "Lessons In The Course"]
    assert row[3:7] == ["Active", 33, 1, 3]
    assert row[7].microsecond == 0 and row[8].microsecond == 0
