"""The course staff tools hook (``learning.staff_links``): one list feeds the course page's
header buttons and the tabs atop every staff screen, core's and other apps' alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from wagtail import hooks

from learning import access, staff_links
from tests.courses.helpers import Tree, logged_in
from tests.learning.staff_world import course_editor

pytestmark = pytest.mark.django_db


def notes_link(*, course: Any, user: Any) -> list[staff_links.CourseStaffLink]:
    """A plugin's tool, for whoever may see the course's learners."""
    if not access.may_see_learners(access.viewer(user), course):
        return []
    return [staff_links.CourseStaffLink("notes", "Course notes", f"/admin/notes/{course.pk}/", priority=35)]


def test_core_links_follow_the_staff_rule_in_order(tree: Tree) -> None:
    editor = course_editor("alice_editor", tree.python)
    names = [link.name for link in staff_links.course_links(tree.python, editor)]
    assert names == [
        "learners", "analytics", "live", "bulk", "gradebook", "message", "due_dates", "cohorts", "discussions", "plugins",
    ]
    assert staff_links.course_links(tree.sql, editor) == []


def test_role_holders_get_the_links_of_their_role(tree: Tree) -> None:
    from tests.learning.staff_world import course_role

    teacher = course_role("tina_teacher", tree.python, "teacher")
    assistant = course_role("andy_assistant", tree.python, "assistant")
    assert [link.name for link in staff_links.course_links(tree.python, teacher)] == [
        "learners", "analytics", "live", "bulk", "gradebook", "message", "due_dates", "cohorts", "discussions",
    ]  # not "plugins" nor "certificate": those are the course's editors'
    assert [link.name for link in staff_links.course_links(tree.python, assistant)] == [
        "learners", "analytics", "live", "gradebook", "due_dates", "cohorts", "discussions",
    ]
    assert staff_links.course_links(tree.sql, teacher) == []


def test_a_registered_link_shows_in_the_tabs_and_the_header(tree: Tree) -> None:
    editor = course_editor("alice_editor", tree.python)
    client = logged_in(editor)
    with hooks.register_temporarily(staff_links.HOOK, notes_link):
        tabs = client.get(f"/admin/learning/courses/{tree.python.pk}/analytics/").content.decode()
        header = client.get(reverse("wagtailadmin_pages:edit", args=[tree.python.pk])).content.decode()
        refused = staff_links.course_links(tree.sql, editor)
    assert tabs.index(">Live class<") < tabs.index(">Course notes<") < tabs.index(">Bulk enrollment<")
    assert 'aria-current="page" class="button button-small">Analytics<' in tabs
    assert f'href="/admin/notes/{tree.python.pk}/"' in header
    assert "Bulk enrollment" not in header  # tabs only
    assert refused == []


def test_header_links_are_buttons_in_the_page_header_not_in_its_menu(tree: Tree) -> None:
    editor = course_editor("alice_editor", tree.python)
    client = logged_in(editor)
    for url in (reverse("wagtailadmin_pages:edit", args=[tree.python.pk]), reverse("wagtailadmin_explore", args=[tree.python.pk])):
        html = client.get(url).content.decode()
        header = html[html.index("w-slim-header"): html.index("</header>")]
        shown = [name for name in ("learners", "analytics", "live", "bulk", "message", "plugins")
                 if f'data-course-staff-link="{name}"' in header]
        assert shown == ["learners", "analytics", "live", "plugins"]
        assert f'href="/admin/plugins/course/{tree.python.pk}/"' in header
        # The "..." menu holds Wagtail's own actions only.
        assert html.count(f"/admin/learning/courses/{tree.python.pk}/learners/") == 1
    lesson = tree.lessons[0]
    lesson_html = client.get(reverse("wagtailadmin_pages:edit", args=[lesson.pk])).content.decode()
    assert "data-course-staff-link" not in lesson_html
