"""Course page validation and lesson navigation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from academy.plugins import activation
from courses.models import CoursePage, EnrollmentMode
from courses.selectors import course_lessons, lesson_navigation
from tests.courses.helpers import Tree, make_lesson


def test_open_course_with_price_is_invalid(tree: Tree) -> None:
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.price = Decimal("10.00")
    with pytest.raises(ValidationError) as raised:
        course.full_clean()
    assert raised.value.message_dict == {
        "price": ["Open courses are free. Choose 'Approval required' to charge for a course."]
    }


def test_approval_course_price_is_valid_and_currency_upper_cased(tree: Tree) -> None:
    course = CoursePage.objects.get(pk=tree.sql.pk)
    course.currency = "eur"
    course.full_clean()
    assert (course.requires_approval, course.currency) == (True, "EUR")


def test_negative_price_is_invalid(tree: Tree) -> None:
    course = CoursePage.objects.get(pk=tree.sql.pk)
    course.price = Decimal("-1.00")
    with pytest.raises(ValidationError) as raised:
        course.full_clean()
    assert list(raised.value.message_dict) == ["price"]
    assert course.enrollment_mode == EnrollmentMode.APPROVAL


def test_lessons_follow_tree_order_and_skip_drafts(tree: Tree) -> None:
    make_lesson(tree.python, "Draft", live=False)
    assert [lesson.title for lesson in course_lessons(course=tree.python)] == ["Variables", "Functions", "Modules"]


def test_lesson_navigation_gives_number_and_neighbours(tree: Tree, django_assert_num_queries: object) -> None:
    middle = tree.lessons[1]
    activation.table()  # plugins' lesson kinds are filtered by the cached activation table (warm)
    with django_assert_num_queries(2):  # type: ignore[operator]
        navigation = lesson_navigation(lesson=middle)
    assert navigation["course"].pk == tree.python.pk
    assert (navigation["lesson_number"], navigation["lesson_count"]) == (2, 3)
    assert (navigation["previous_lesson"].title, navigation["next_lesson"].title) == ("Variables", "Modules")


def test_lesson_navigation_at_the_ends(tree: Tree) -> None:
    first, last = lesson_navigation(lesson=tree.lessons[0]), lesson_navigation(lesson=tree.lessons[2])
    assert (first["previous_lesson"], first["next_lesson"].title) == (None, "Functions")
    assert (last["previous_lesson"].title, last["next_lesson"]) == ("Functions", None)


def test_lesson_page_links_previous_and_next(tree: Tree, client: object) -> None:
    html = client.get("/courses/python-basics/functions/").content.decode()  # type: ignore[attr-defined]
    assert '<a class="lesson-nav-prev" href="/courses/python-basics/variables/" rel="prev">' in html
    assert '<a class="lesson-nav-next" href="/courses/python-basics/modules/" rel="next">' in html
    assert "Lesson 2 of 3" in html


def test_course_page_lists_lessons_in_order(tree: Tree, client: object) -> None:
    response = client.get("/courses/python-basics/")  # type: ignore[attr-defined]
    assert [lesson.title for lesson in response.context["lessons"]] == ["Variables", "Functions", "Modules"]
