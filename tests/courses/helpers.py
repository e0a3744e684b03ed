"""Small builders for course page trees in tests (plain functions, usable from TestCase classes too)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.core.files.images import ImageFile
from django.test import Client
from PIL import Image as PILImage
from wagtail.images import get_image_model
from wagtail.models import Page, Site
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from courses.models import CourseIndexPage, CoursePage, EnrollmentMode, HomePage, LessonPage

P = TypeVar("P", bound=Page)


def add_page(parent: Page, page: P, *, live: bool = True) -> P:
    """Add ``page`` under ``parent`` as the admin does: a revision, published when ``live``."""
    page.live = False
    parent.add_child(instance=page)
    revision = page.save_revision()
    if live:
        revision.publish()
        page.refresh_from_db()
    return page


def make_home() -> HomePage:
    """A HomePage under the tree root, made the default site's root."""
    home = add_page(Page.get_first_root_node(), HomePage(title="Academy", slug="academy"))
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    return home


def make_course(catalog: CourseIndexPage, title: str, *, live: bool = True, **fields: Any) -> CoursePage:
    """A course under ``catalog`` with sensible defaults for the required fields."""
    values: dict[str, Any] = {
        "title": title,
        "summary": f"Summary of {title}.",
        "description": f"<p>About {title}.</p>",
        **fields,
    }
    tags = values.pop("tags", [])
    course = CoursePage(**values)
    if tags:
        course.tags.set(tags)
    return add_page(catalog, course, live=live)


def make_lesson(course: CoursePage, title: str, *, live: bool = True, body: list[dict[str, Any]] | None = None, **fields: Any) -> LessonPage:
    """A lesson under ``course`` whose body is ``body`` (stored-form blocks) or one paragraph."""
    body = body if body is not None else [{"type": "paragraph", "value": f"<p>Text of {title}.</p>"}]
    return add_page(course, LessonPage(title=title, body=body, **fields), live=live)


@dataclass
class Tree:
    """A small published site: home, catalog, two courses with lessons."""

    home: HomePage
    catalog: CourseIndexPage
    python: CoursePage
    sql: CoursePage
    lessons: list[LessonPage]


def make_tree() -> Tree:
    """Home > Courses > {Python basics (3 lessons), Databases with SQL (approval, 1 lesson)}."""
    home = make_home()
    catalog = add_page(home, CourseIndexPage(title="Courses", slug="courses"))
    python = make_course(catalog, "Python basics", slug="python-basics", tags=["Python", "Beginners"])
    sql = make_course(
        catalog, "Databases with SQL", slug="databases-with-sql", tags=["SQL"],
        summary="Relational modelling and queries.", enrollment_mode=EnrollmentMode.APPROVAL,
        price=Decimal("49.00"),
    )
    lessons = [make_lesson(python, title) for title in ("Variables", "Functions", "Modules")]
    make_lesson(sql, "Joins")
    return Tree(home=home, catalog=catalog, python=python, sql=sql, lessons=lessons)


def make_image(title: str = "Test picture", size: tuple[int, int] = (64, 48)) -> Any:
    """A Wagtail image holding a small PNG drawn in memory."""
    buffer = io.BytesIO()
    PILImage.new("RGB", size, "#2454c5").save(buffer, "PNG")
    return get_image_model().objects.create(title=title, file=ImageFile(buffer, name="picture.png"))


#: What the admin form shows a new lesson for its dates and weight (opens with the course, no due date).
LESSON_DATE_DEFAULTS = {"release_rule": "", "release_days": "0", "due_rule": "", "due_days": "0", "due_at": "", "grade_weight": "1"}


def lesson_form_data(title: str, slug: str, *, summary: str = "", minutes: int = 10, blocks: list[tuple[str, Any]] | None = None, action: str | None = None) -> dict[str, Any]:
    """The admin page form's POST data for a lesson, with a StreamField body of ``blocks``.

    Rich text values in ``blocks`` are HTML; they are converted to the editor's format here.
    """
    def form_value(block_type: str, value: Any) -> Any:
        if block_type == "paragraph":
            return rich_text(value)
        if block_type == "callout":
            return {**value, "body": rich_text(value["body"])}
        return value

    data = nested_form_data({
        "title": title,
        "slug": slug,
        "summary": summary,
        "estimated_minutes": str(minutes),
        **LESSON_DATE_DEFAULTS,
        "body": streamfield([(block_type, form_value(block_type, value)) for block_type, value in (blocks or [])]),
        "comments": inline_formset([]),
    })
    if action:
        data[action] = action
    return data


def logged_in(user: Any) -> Client:
    """A test client with ``user``'s session."""
    client = Client()
    client.force_login(user)
    return client
