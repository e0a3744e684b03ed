"""What a page costs to render (the page cache off: this is the cost of a miss), exactly.

Two figures per page: *cold*, the first request after the page tree changed (a publish, a move,
a Site edit: ``courses.routing.forget_tree``), when the route, the course outline and the cached
page fragments are rebuilt; and *warm*, every request after it. Wagtail's cached lookups (site
root paths) and the shared caches of our own (the restricted page set, the unread badge count,
the live-update cursor, the session, the permission sets) are warm in both, as they are for
every request but the first after a restart. A cached anonymous hit costs no query at all
(tests/courses/test_pagecache.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from courses import routing
from courses.models import CATALOG_PAGE_SIZE
from learning import services
from tests.courses.helpers import Tree, logged_in
from tests.learning.bulk import bulk_courses

# Routing, cold: Wagtail's site lookup (1), home's specific row (1: Wagtail's route_for_request),
# then HomePage.route's one query for the whole path (1). Warm: none (courses.routing).
ROUTE = 3
# /courses/ cold: ROUTE + the tag cloud (1) + COUNT of the courses (1) + the page of 12 courses
# with their instructors (1) + the tags of those 12 (1). Cover renditions: none of these courses
# has a cover, so that prefetch has nothing to fetch. Warm: none, the listing is a cached
# fragment (the same for every reader without a search).
CATALOG_QUERIES = ROUTE + 4
# Home (never cached as a fragment): site + home (ROUTE - 1, cold only) + the catalog page (1)
# + the 3 newest courses (1) + their tags (1) + the tag cloud (1).
HOME_WARM_QUERIES = 4
HOME_QUERIES = ROUTE - 1 + HOME_WARM_QUERIES
# Course page, anonymous, cold: ROUTE + the published lessons (1, the cached outline) + the
# course's tags (1, in the cached "about" fragment). Warm: none.
COURSE_ANONYMOUS_QUERIES = ROUTE + 2
# ... enrolled: + the user (1, the session is cached) + the enrollment (1) + the completed
# lessons (1) + installed plugins' course.sidebar fragments: the certificates plugin's (the
# learner's certificate for the course, 1) and the discussions plugin's (may the learner read the
# course's discussions: their enrollments with an access status among the courses shown, 1). Wagtail's user bar asks for
# admin access from the cached permission set (academy.permissions): no query.
COURSE_ENROLLED_WARM_QUERIES = 5
# Cold, the lesson dates read the course's release and due rules, cached per tree generation (1).
COURSE_ENROLLED_QUERIES = COURSE_ANONYMOUS_QUERIES + COURSE_ENROLLED_WARM_QUERIES + 1
# Lesson page, anonymous, cold: ROUTE + the course's published lessons (1, the cached outline);
# the course, the catalog and the view-restriction check come from the route. Warm: none.
LESSON_ANONYMOUS_QUERIES = ROUTE + 1
# ... enrolled: + the user (1) + the enrollment with the lesson's completion (1). The body comes
# from the cached fragment of this revision. Installed plugins' lesson.after_body fragments: the
# discussions plugin's (the course comes with the route; the first page of the lesson's threads
# and their total, 1: this lesson has none, and an empty page is not shared; a lesson with
# threads serves it from the cache, 0 whatever the threads: tests/plugins/discussions/test_pages.py).
LESSON_ENROLLED_WARM_QUERIES = 3
# Cold, the course's date rules (1, cached per tree generation: "not yet open" asks them).
LESSON_ENROLLED_QUERIES = LESSON_ANONYMOUS_QUERIES + LESSON_ENROLLED_WARM_QUERIES + 1


@pytest.fixture(autouse=True)
def _render_every_time(settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = False


def queries_of(
    client: Client, url: str, django_assert_num_queries: Any, expected: int, warm: int = 0, **params: str
) -> Any:
    """GET ``url`` (warming the caches), then once after a tree change (``expected`` queries, the
    cold cost) and once more (``warm`` queries); the cold response."""
    assert client.get(url, params).status_code == 200
    routing.forget_tree()
    with django_assert_num_queries(expected):
        response = client.get(url, params)
    assert response.status_code == 200
    with django_assert_num_queries(warm):
        again = client.get(url, params)
    assert again.status_code == 200
    assert _per_response(again.content) == _per_response(response.content)
    return response


def _per_response(html: bytes) -> bytes:
    """``html`` without what differs on every response (CSP nonces, masked CSRF tokens)."""
    return re.sub(rb'(nonce|value|content)="[A-Za-z0-9+/=_-]{20,}"', rb'\1=""', html)


@pytest.mark.parametrize("count", [10, 1000])
@pytest.mark.parametrize("params", [{}, {"page": "2"}, {"tag": "python"}], ids=["first", "page-2", "tag"])
def test_catalog_queries_do_not_grow_with_the_number_of_courses(
    count: int, params: dict[str, str], tree: Tree, client: Client, django_assert_num_queries: Any
) -> None:
    bulk_courses(tree.catalog, count)
    response = queries_of(client, "/courses/", django_assert_num_queries, CATALOG_QUERIES, **params)
    page = response.context["courses_page"]
    if params.get("tag"):
        assert [course.title for course in page.object_list] == ["Python basics"]
    else:
        assert page.paginator.count == count + 2
        assert len(page.object_list) == CATALOG_PAGE_SIZE


@pytest.mark.parametrize("count", [10, 1000])
def test_catalog_search_queries_do_not_grow_with_the_number_of_courses(
    count: int, tree: Tree, client: Client, django_assert_num_queries: Any
) -> None:
    bulk_courses(tree.catalog, count)
    client.get("/courses/", {"q": "relational"})
    # ROUTE + tag cloud (1) + course search (1) + lesson search (1) + the matching ids (1) + the
    # page's courses as cards (1) + their tags (1).
    routing.forget_tree()
    with django_assert_num_queries(ROUTE + 6):
        response = client.get("/courses/", {"q": "relational"})
    # A search is never a cached fragment: warm, only the route is saved.
    with django_assert_num_queries(6):
        client.get("/courses/", {"q": "relational"})
    assert [course.title for course in response.context["courses_page"].object_list] == ["Databases with SQL"]


def test_home_queries(tree: Tree, client: Client, django_assert_num_queries: Any) -> None:
    bulk_courses(tree.catalog, 20)
    response = queries_of(client, "/", django_assert_num_queries, HOME_QUERIES, HOME_WARM_QUERIES)
    assert len(response.context["featured_courses"]) == 3


def test_course_page_queries_anonymous_and_enrolled(tree: Tree, client: Client, django_assert_num_queries: Any) -> None:
    url = "/courses/python-basics/"
    queries_of(client, url, django_assert_num_queries, COURSE_ANONYMOUS_QUERIES)
    learner = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    services.enrollment_request(user=learner, course=tree.python)
    response = queries_of(
        logged_in(learner), url, django_assert_num_queries, COURSE_ENROLLED_QUERIES, COURSE_ENROLLED_WARM_QUERIES
    )
    assert "You are enrolled" in response.content.decode()


def test_lesson_page_queries_anonymous_and_enrolled(tree: Tree, client: Client, django_assert_num_queries: Any) -> None:
    url = "/courses/python-basics/functions/"
    queries_of(client, url, django_assert_num_queries, LESSON_ANONYMOUS_QUERIES)
    learner = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[1])
    response = queries_of(
        logged_in(learner), url, django_assert_num_queries, LESSON_ENROLLED_QUERIES, LESSON_ENROLLED_WARM_QUERIES
    )
    html = response.content.decode()
    assert "Text of Functions." in html and "You completed this lesson." in html


@pytest.mark.parametrize("path", ["/no-such-page/", "/courses/no-such-course/", "/courses/python-basics/no-such-lesson/"])
def test_unknown_paths_below_home_are_404(tree: Tree, client: Any, path: str) -> None:
    # The one-query route hands a path it cannot find back to Wagtail's own route (a 404),
    # never to itself again (a RecursionError on PostgreSQL before the fix).
    assert client.get(path).status_code == 404
