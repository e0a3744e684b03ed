"""Reads of course content for pages, with their joins decided here in one place."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypedDict, TypeVar

from django.core.paginator import Page as Page_
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from taggit.models import Tag
from wagtail import hooks
from wagtail.images import get_image_model
from wagtail.models import Page

from courses.lesson_kinds import inactive_kind_type_ids, of_active_kinds
from courses.models import CATALOG_PAGE_SIZE, CourseIndexPage, CoursePage, LessonPage
from courses.routing import tree_cached

P = TypeVar("P", bound=Page)

# The rendition course cards show; prefetched with the images so a card costs no query.
CARD_IMAGE_SPEC = "fill-640x360"
# Full-text search: the words kept from a query, how many, and how many lesson hits to consider.
SEARCH_WORD = re.compile(r"\w+")
# What a tag slug (taggit's slugify) can be: letters, digits, "_" and "-". Anything else in
# ``?tag=`` matches no tag, and is not sent to the database (PostgreSQL refuses NUL in text).
TAG_SLUG = re.compile(r"[-\w]+")
SEARCH_MAX_TERMS = 12
SEARCH_MAX_LESSONS = 100
# Shortest word that matches its longer forms when lesson titles and summaries are checked.
SEARCH_STEM_MIN = 4
# Wagtail hook naming who may read which courses' lesson bodies (see readable_course_ids).
READABLE_COURSES_HOOK = "readable_courses"
# Wagtail hook naming which lessons of readable courses are not open yet to a user (drip
# release): their bodies are not searched for that user (see closed_lesson_ids).
CLOSED_LESSONS_HOOK = "closed_lessons"


def _published_courses(root: Page) -> QuerySet[CoursePage]:
    return public_only(CoursePage.objects.live().descendant_of(root))


def _with_card_data(courses: QuerySet[CoursePage]) -> QuerySet[CoursePage]:
    images = get_image_model().objects.prefetch_renditions(CARD_IMAGE_SPEC)
    return courses.select_related("instructor").prefetch_related(
        Prefetch("cover_image", queryset=images), "tags"
    )


def course_cards(*, site_root: Page) -> QuerySet[CoursePage]:
    """Published, public courses under ``site_root``, newest first, ready to render as cards."""
    return _with_card_data(_published_courses(site_root)).order_by("-first_published_at", "pk")


def normalize_search_query(query: str) -> str:
    """The words of a learner's query, lower-cased, at most ``SEARCH_MAX_TERMS`` of them.

    Punctuation is dropped: the database backends build full-text syntax from the terms, and a
    stray quote or bracket must not turn into a syntax error (a 500) or an operator.
    """
    return " ".join(SEARCH_WORD.findall(query.lower())[:SEARCH_MAX_TERMS])


def readable_course_ids(*, user: Any, session: Mapping[str, Any] | None, courses: list[CoursePage]) -> set[int]:
    """Which of ``courses`` ``user`` may read lesson bodies of, as the ``readable_courses`` hooks
    say (``learning`` registers the access policy there; this floor does not import it). With no
    hook nobody does, so search stays on what everyone may read."""
    readable: set[int] = set()
    for hook in hooks.get_hooks(READABLE_COURSES_HOOK):
        readable |= set(hook(user=user, session=session, courses=courses))
    return readable


def closed_lesson_ids(
    *, user: Any, session: Mapping[str, Any] | None, lessons: list[LessonPage], course_ids: Mapping[str, int]
) -> set[int]:
    """Which of ``lessons`` (in courses ``user`` may read; ``course_ids`` maps their course paths
    to ids) are not open yet to ``user``, as the ``closed_lessons`` hooks say (``learning``
    registers the access policy's "not yet open" there). With no hook, none."""
    closed: set[int] = set()
    for hook in hooks.get_hooks(CLOSED_LESSONS_HOOK):
        closed |= set(hook(user=user, session=session, lessons=lessons, course_ids=course_ids))
    return closed


def _matching_ids(
    *, index_page: CourseIndexPage, courses: QuerySet[CoursePage], terms: str,
    user: Any = None, session: Mapping[str, Any] | None = None,
) -> list[int]:
    """Ids of ``courses`` matching ``terms``, best first: own fields, then through a lesson.

    Lessons are matched on their title and summary (what every visitor sees); their bodies are
    searched only in the courses ``user`` may read (``readable_course_ids``), so a word found
    only in a paid lesson finds nothing for a visitor who may not read it.
    """
    ranked_ids = [page.pk for page in _published_courses(index_page).search(terms)]
    lessons = list(public_only(LessonPage.objects.live().descendant_of(index_page)).search(terms)[:SEARCH_MAX_LESSONS])
    readable_paths: set[str] = set()
    closed: set[int] = set()
    if lessons and getattr(user, "is_authenticated", False):
        candidates = list(_published_courses(index_page).only("id", "path"))
        readable = readable_course_ids(user=user, session=session, courses=candidates)
        readable_paths = {course.path for course in candidates if course.pk in readable}
        # A lesson not yet open to the learner (drip release) keeps its body to itself.
        closed = closed_lesson_ids(
            user=user, session=session,
            lessons=[lesson for lesson in lessons if lesson.course_path in readable_paths],
            course_ids={course.path: course.pk for course in candidates if course.pk in readable},
        )
    # The search index keeps one text column for every field but the title, so it cannot say
    # whether a lesson matched on its summary or its body: outside the courses the user may
    # read, a hit counts only when a query word is found in what every visitor sees.
    words = terms.split()
    hits = [
        lesson for lesson in lessons
        if (lesson.course_path in readable_paths and lesson.pk not in closed) or _matches_public_text(lesson, words)
    ]
    lesson_course_paths = list(dict.fromkeys(lesson.course_path for lesson in hits))
    matches = dict(courses.filter(Q(pk__in=ranked_ids) | Q(path__in=lesson_course_paths)).values_list("pk", "path"))
    by_path = {path: pk for pk, path in matches.items()}
    ordered = [pk for pk in ranked_ids if pk in matches]
    ordered += [by_path[path] for path in lesson_course_paths if path in by_path]
    return list(dict.fromkeys(ordered))


def _filtered(index_page: CourseIndexPage, tag: str) -> QuerySet[CoursePage]:
    courses = _published_courses(index_page)
    if not tag:
        return courses
    return courses.filter(tags__slug=tag) if TAG_SLUG.fullmatch(tag) else courses.none()


def catalog_search(
    *, index_page: CourseIndexPage, query: str = "", tag: str = "",
    user: Any = None, session: Mapping[str, Any] | None = None,
) -> list[CoursePage]:
    """The catalog's courses matching a full-text ``query`` and/or a tag slug, best match first.

    A course matches when its own fields (title, summary, description, tags, instructor) match,
    or, ranked after those, when one of its published lessons does (bodies only where ``user``
    may read them: see ``_matching_ids``). Without a query the courses keep their order in the
    page tree (the editor's order). Every match, ready as cards: the catalog page itself uses
    :func:`catalog_page`, which loads only one page of them.
    """
    courses = _filtered(index_page, tag)
    terms = normalize_search_query(query)
    if not terms:
        return list(_with_card_data(courses).order_by("path"))
    ids = _matching_ids(index_page=index_page, courses=courses, terms=terms, user=user, session=session)
    by_id = {page.pk: page for page in _with_card_data(courses.filter(pk__in=ids))}
    return [by_id[pk] for pk in ids if pk in by_id]


def catalog_page(
    *, index_page: CourseIndexPage, query: str = "", tag: str = "", page_number: str = "1",
    user: Any = None, session: Mapping[str, Any] | None = None,
) -> Page_:
    """One page of :func:`catalog_search`'s result: counted and cut at the database.

    Without a query: a COUNT, then the page's rows with their card data (instructor joined; tags
    and cover renditions prefetched for those rows only), whatever the number of courses. With
    a query, the search backends rank ids (bounded by the matches), and only the page's courses
    are loaded as cards.
    """
    courses = _filtered(index_page, tag)
    terms = normalize_search_query(query)
    if not terms:
        return Paginator(_with_card_data(courses).order_by("path"), CATALOG_PAGE_SIZE).get_page(page_number)
    ids = _matching_ids(index_page=index_page, courses=courses, terms=terms, user=user, session=session)
    page = Paginator(ids, CATALOG_PAGE_SIZE).get_page(page_number)
    page_ids = list(page.object_list)
    by_id = {course.pk: course for course in _with_card_data(courses.filter(pk__in=page_ids))} if page_ids else {}
    page.object_list = [by_id[pk] for pk in page_ids if pk in by_id]
    return page


def _matches_public_text(lesson: LessonPage, words: list[str]) -> bool:
    """Whether a query word (or its stem) appears in the lesson's title or summary.

    Words match when one starts with the other and the shorter has at least
    ``SEARCH_STEM_MIN`` letters ("function" ~ "functions"), an approximation of the index's
    stemming that only ever looks at public text.
    """
    public = SEARCH_WORD.findall(f"{lesson.title} {lesson.summary}".lower())
    for word in words:
        for candidate in public:
            shorter = min(len(word), len(candidate))
            if candidate == word or (
                shorter >= SEARCH_STEM_MIN and (candidate.startswith(word) or word.startswith(candidate))
            ):
                return True
    return False


def catalog_tags(*, index_page: CourseIndexPage) -> QuerySet[Tag]:
    """Tags used by the catalog's published courses, with how many courses use each."""
    course_ids = _published_courses(index_page).values("pk")
    return (
        Tag.objects.filter(courses_coursetag_items__content_object__in=course_ids)
        .annotate(course_count=Count("courses_coursetag_items", distinct=True))
        .order_by("name")
    )


def course_lessons(*, course: CoursePage) -> QuerySet[LessonPage]:
    """A course's published lessons (of the kinds active in it) in the editor's tree order."""
    return of_active_kinds(LessonPage.objects.live().child_of(course), course.pk).order_by("path")


def course_outline(course: CoursePage) -> list[LessonPage]:
    """:func:`course_lessons` as a list, bodies deferred, from the cache while the page tree and
    the course's active lesson kinds stay as they are (``courses.routing.tree_cached``)."""
    inactive = ",".join(str(pk) for pk in sorted(inactive_kind_type_ids(course.pk)))
    return tree_cached(
        "outline", f"{course.pk}:{inactive}", lambda: list(course_lessons(course=course).defer_streamfields()), list
    )


class LessonNavigation(TypedDict):
    """Where a lesson sits in its course."""

    course: CoursePage
    lessons: list[LessonPage]
    lesson_number: int
    lesson_count: int
    previous_lesson: LessonPage | None
    next_lesson: LessonPage | None


def lesson_navigation(*, lesson: LessonPage, course: CoursePage | None = None) -> LessonNavigation:
    """The lesson's course, its number in the course and its neighbours.

    The lessons come from the cached outline (:func:`course_outline`): no query while it is
    cached and the caller has the ``course`` (the route loaded it).
    """
    if course is None:
        course = CoursePage.objects.get(path=lesson.course_path)
    lessons = course_outline(course)
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


def restricted_pages() -> tuple[tuple[int, str], ...]:
    """``(page id, tree path)`` of every page that carries a view restriction (its subtree is
    private), from the one cached snapshot of view restrictions (``courses.restrictions``): no
    query while cached, one when the cache lost it."""
    from courses.restrictions import snapshot

    return snapshot().restricted_pages()


def public_only(pages: QuerySet[P]) -> QuerySet[P]:
    """``pages`` without the private ones: Wagtail's ``.public()`` without its query per call."""
    for _page_id, path in restricted_pages():
        pages = pages.exclude(path__startswith=path)
    return pages
