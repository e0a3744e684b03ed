"""Reads of course content for pages, with their joins decided here in one place."""

from __future__ import annotations

from typing import TypedDict

from django.db.models import Count, Prefetch, QuerySet
from taggit.models import Tag
from wagtail.images import get_image_model
from wagtail.models import Page

from courses.models import CourseIndexPage, CoursePage, LessonPage

# The rendition course cards show; prefetched with the images so a card costs no query.
CARD_IMAGE_SPEC = "fill-640x360"


def _published_courses(root: Page) -> QuerySet[CoursePage]:
    return CoursePage.objects.live().public().descendant_of(root)


def _with_card_data(courses: QuerySet[CoursePage]) -> QuerySet[CoursePage]:
    images = get_image_model().objects.prefetch_renditions(CARD_IMAGE_SPEC)
    return courses.select_related("instructor").prefetch_related(
        Prefetch("cover_image", queryset=images), "tags"
    )


def course_cards(*, site_root: Page) -> QuerySet[CoursePage]:
    """Published, public courses under ``site_root``, newest first, ready to render as cards."""
    return _with_card_data(_published_courses(site_root)).order_by("-first_published_at", "pk")


def catalog_search(*, index_page: CourseIndexPage, query: str = "", tag: str = "") -> list[CoursePage]:
    """The catalog's courses matching a full-text ``query`` and/or a tag slug, best match first.

    Without a query the courses keep their order in the page tree (the editor's order).
    """
    courses = _published_courses(index_page)
    if tag:
        courses = courses.filter(tags__slug=tag)
    if not query:
        return list(_with_card_data(courses).order_by("path"))
    ranked_ids = [page.pk for page in _published_courses(index_page).search(query)]
    by_id = {page.pk: page for page in _with_card_data(courses.filter(pk__in=ranked_ids))}
    return [by_id[pk] for pk in ranked_ids if pk in by_id]


def catalog_tags(*, index_page: CourseIndexPage) -> QuerySet[Tag]:
    """Tags used by the catalog's published courses, with how many courses use each."""
    course_ids = _published_courses(index_page).values("pk")
    return (
        Tag.objects.filter(courses_coursetag_items__content_object__in=course_ids)
        .annotate(course_count=Count("courses_coursetag_items", distinct=True))
        .order_by("name")
    )


def course_lessons(*, course: CoursePage) -> QuerySet[LessonPage]:
    """A course's published lessons in the editor's tree order."""
    return LessonPage.objects.live().child_of(course).order_by("path")


class LessonNavigation(TypedDict):
    """Where a lesson sits in its course."""

    course: CoursePage
    lessons: list[LessonPage]
    lesson_number: int
    lesson_count: int
    previous_lesson: LessonPage | None
    next_lesson: LessonPage | None


def lesson_navigation(*, lesson: LessonPage) -> LessonNavigation:
    """The lesson's course, its number in the course and its neighbours (two queries)."""
    parent_path = lesson.path[: -lesson.steplen]
    course = CoursePage.objects.select_related("instructor").get(path=parent_path)
    lessons = list(course_lessons(course=course))
    position = next((i for i, item in enumerate(lessons) if item.pk == lesson.pk), None)
    if position is None:
        # A draft being previewed is not among the live lessons: show it after them.
        return LessonNavigation(
            course=course, lessons=lessons, lesson_number=len(lessons) + 1,
            lesson_count=len(lessons), previous_lesson=lessons[-1] if lessons else None, next_lesson=None,
        )
    return LessonNavigation(
        course=course,
        lessons=lessons,
        lesson_number=position + 1,
        lesson_count=len(lessons),
        previous_lesson=lessons[position - 1] if position > 0 else None,
        next_lesson=lessons[position + 1] if position + 1 < len(lessons) else None,
    )
