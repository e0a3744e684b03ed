"""Editors (the seeded Editors group, not superusers) write and publish lessons in the Wagtail admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from courses.models import CourseIndexPage, CoursePage, HomePage, LessonPage
from tests.courses.helpers import lesson_form_data


@pytest.fixture
def editor(seeded: str) -> User:
    """A staff-less member of the seeded Editors group."""
    user = User.objects.create_user("erin", "erin@example.com", "pw-erin-123")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(editor: User) -> Client:
    client = Client()
    client.force_login(editor)
    return client


LESSON_BLOCKS = [
    ("heading", {"text": "Generators", "level": "h2"}),
    ("paragraph", "<p>A generator <b>yields</b> values lazily.</p>"),
    ("code", {"language": "python", "code": "def count():\n    yield 1", "caption": "A generator"}),
    ("callout", {"kind": "tip", "title": "Remember", "body": "<p>Generators are iterators.</p>"}),
]


def test_editor_creates_and_publishes_lesson_through_admin(editor_client: Client) -> None:
    course = CoursePage.objects.get(slug="python-testing-with-pytest")
    lessons_before = LessonPage.objects.child_of(course).count()
    url = reverse("wagtailadmin_pages:add", args=("courses", "lessonpage", course.pk))

    assert editor_client.get(url).status_code == 200
    response = editor_client.post(url, lesson_form_data(
        "Generators in tests", "generators-in-tests", summary="Lazy values.", minutes=12,
        blocks=LESSON_BLOCKS, action="action-publish",
    ))

    assert response.status_code == 302
    lesson = LessonPage.objects.get(slug="generators-in-tests")
    assert lesson.live is True
    assert lesson.get_parent().pk == course.pk
    assert lesson.estimated_minutes == 12
    assert [block.block_type for block in lesson.body] == ["heading", "paragraph", "code", "callout"]
    assert lesson.revisions.count() == 1
    assert LessonPage.objects.child_of(course).count() == lessons_before + 1
    # New lessons go last in the course and are served at once.
    assert LessonPage.objects.child_of(course).live().order_by("path").last().pk == lesson.pk
    assert Client().get("/courses/python-testing-with-pytest/generators-in-tests/").status_code == 200
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-123"))
    page = staff.get("/courses/python-testing-with-pytest/generators-in-tests/")
    assert '<span class="k">def</span>' in page.content.decode()


def test_editor_saves_lesson_draft_that_learners_cannot_see(editor_client: Client) -> None:
    course = CoursePage.objects.get(slug="sql-for-web-developers")
    url = reverse("wagtailadmin_pages:add", args=("courses", "lessonpage", course.pk))

    response = editor_client.post(url, lesson_form_data("Window functions", "window-functions", blocks=LESSON_BLOCKS[:2]))

    assert response.status_code == 302
    lesson = LessonPage.objects.get(slug="window-functions")
    assert (lesson.live, lesson.has_unpublished_changes) == (False, True)
    assert Client().get("/courses/sql-for-web-developers/window-functions/").status_code == 404


def test_editor_cannot_add_lesson_outside_a_course(editor_client: Client) -> None:
    catalog = CourseIndexPage.objects.get()
    url = reverse("wagtailadmin_pages:add", args=("courses", "lessonpage", catalog.pk))

    response = editor_client.post(url, lesson_form_data("Stray", "stray", action="action-publish"))

    assert (response.status_code, response["Location"]) == (302, "/admin/")  # "permission denied"
    assert LessonPage.objects.filter(slug="stray").exists() is False


def test_editor_cannot_edit_the_home_page(editor_client: Client) -> None:
    home = HomePage.objects.get()
    response = editor_client.get(reverse("wagtailadmin_pages:edit", args=[home.pk]))
    assert response.status_code == 302  # Wagtail redirects with a "permission denied" message
    assert editor_client.get(reverse("wagtailadmin_pages:edit", args=[CourseIndexPage.objects.get().pk])).status_code == 200


def test_invalid_lesson_form_is_rejected_without_a_page(editor_client: Client) -> None:
    course = CoursePage.objects.get(slug="production-django")
    url = reverse("wagtailadmin_pages:add", args=("courses", "lessonpage", course.pk))
    bad_blocks = [("code", {"language": "cobol", "code": "", "caption": ""})]

    response = editor_client.post(url, lesson_form_data("", "bad-lesson", minutes=0, blocks=bad_blocks, action="action-publish"))

    assert response.status_code == 200
    assert LessonPage.objects.filter(slug="bad-lesson").exists() is False
    errors = response.context["form"].errors
    assert sorted(errors) == ["body", "estimated_minutes", "title"]
