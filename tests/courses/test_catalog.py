"""The catalog (/courses/): exactly the published courses, search, tags, and hostile query strings."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client
from wagtail.models import PageViewRestriction

from courses.models import CATALOG_PAGE_SIZE, CoursePage
from courses.selectors import catalog_search, catalog_tags, course_cards, normalize_search_query
from learning.models import Enrollment
from tests.courses.helpers import Tree, make_course, make_lesson


def card_titles(response: object) -> list[str]:
    """The course titles of the catalog page's cards, in order."""
    return [course.title for course in response.context["courses_page"].object_list]  # type: ignore[attr-defined]


def test_catalog_lists_exactly_the_published_public_courses(tree: Tree, client: Client) -> None:
    make_course(tree.catalog, "Draft course", slug="draft-course", live=False)
    private = make_course(tree.catalog, "Private course", slug="private-course")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    unpublished = make_course(tree.catalog, "Withdrawn course", slug="withdrawn-course")
    unpublished.unpublish()

    response = client.get("/courses/")

    assert response.status_code == 200
    assert card_titles(response) == ["Python basics", "Databases with SQL"]
    assert response.context["courses_page"].paginator.count == 2
    html = response.content.decode()
    assert "Draft course" not in html
    assert "Private course" not in html
    assert "Withdrawn course" not in html


def test_catalog_card_shows_price_of_approval_course_and_free_for_open(tree: Tree, client: Client) -> None:
    html = client.get("/courses/").content.decode()
    assert "49.00 USD" in html
    assert "Approval required" in html
    assert "Free" in html


def test_home_page_features_newest_courses_and_links_catalog(tree: Tree, client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert [course.title for course in response.context["featured_courses"]] == ["Databases with SQL", "Python basics"]
    assert response.context["catalog"].pk == tree.catalog.pk
    assert [tag.slug for tag in response.context["topics"]] == ["beginners", "python", "sql"]
    assert 'href="/courses/?tag=python"' in response.content.decode()


def test_search_returns_the_matching_course(tree: Tree, client: Client) -> None:
    response = client.get("/courses/", {"q": "relational"})
    assert card_titles(response) == ["Databases with SQL"]
    assert response.context["search_terms"] == "relational"


def test_search_finds_course_through_its_lesson_title_and_summary(tree: Tree) -> None:
    make_lesson(tree.python, "Decorators", summary="Wrapping functions.")
    assert [course.title for course in catalog_search(index_page=tree.catalog, query="decorators")] == ["Python basics"]
    assert [course.title for course in catalog_search(index_page=tree.catalog, query="wrapping")] == ["Python basics"]


def test_search_matches_lesson_bodies_only_for_readers(tree: Tree) -> None:
    make_lesson(tree.python, "Decorators", body=[{"type": "paragraph", "value": "<p>Memoization with functools.</p>"}])
    enrolled = User.objects.create_user("ada", password="pw")
    Enrollment.objects.create(user=enrolled, course=tree.python, status=Enrollment.Status.ACTIVE)
    outsider = User.objects.create_user("bob", password="pw")
    found = {
        name: [course.title for course in catalog_search(index_page=tree.catalog, query="memoization", user=user)]
        for name, user in (("anonymous", AnonymousUser()), ("outsider", outsider), ("enrolled", enrolled))
    }
    assert found == {"anonymous": [], "outsider": [], "enrolled": ["Python basics"]}


def test_search_ignores_unpublished_courses_and_lessons(tree: Tree) -> None:
    make_course(tree.catalog, "Quantum draft", slug="quantum", live=False, summary="Qubits and more.")
    make_lesson(tree.sql, "Qubits for DBAs", live=False, body=[{"type": "paragraph", "value": "<p>Qubits.</p>"}])
    assert catalog_search(index_page=tree.catalog, query="qubits") == []


def test_search_without_match_shows_empty_state(tree: Tree, client: Client) -> None:
    response = client.get("/courses/", {"q": "haskell"})
    assert response.status_code == 200
    assert card_titles(response) == []
    assert "No course matches" in response.content.decode()


def test_tag_filter_lists_only_tagged_courses(tree: Tree, client: Client) -> None:
    response = client.get("/courses/", {"tag": "sql"})
    assert card_titles(response) == ["Databases with SQL"]
    assert response.context["active_tag"] == "sql"


def test_tag_filter_combines_with_search(tree: Tree) -> None:
    make_course(tree.catalog, "SQL for pythonistas", slug="sql-python", tags=["Python", "SQL"])
    found = catalog_search(index_page=tree.catalog, query="sql", tag="python")
    assert [course.title for course in found] == ["SQL for pythonistas"]


def test_catalog_tags_count_published_courses_only(tree: Tree) -> None:
    make_course(tree.catalog, "Draft Python", slug="draft-python", tags=["Python"], live=False)
    assert [(tag.slug, tag.course_count) for tag in catalog_tags(index_page=tree.catalog)] == [
        ("beginners", 1), ("python", 1), ("sql", 1),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "99999"},
        {"page": "-1"},
        {"page": ""},
        {"q": "x" * 100_000},
        {"q": '"'},
        {"q": "\x00"},
        {"q": "NEAR( AND OR NOT *"},
        {"q": "' OR 1=1; --"},
        {"q": "python", "tag": "no-such-tag"},
        {"tag": "%" * 500},
        {"q": " ".join(["word"] * 500)},
        {"page": "1\x00"},
        {"q": "python\x00", "page": "\x00"},
        {"tag": "python\x00", "q": "python"},
    ],
)
def test_catalog_bad_query_params_never_fail(tree: Tree, client: Client, params: dict[str, str]) -> None:
    response = client.get("/courses/", params)
    assert response.status_code == 200


@pytest.mark.parametrize("tag", ["a\x00b", "python\x00", "\x00", "python" + "x" * 100_000])
def test_catalog_tag_that_no_slug_can_be_lists_no_course(tree: Tree, client: Client, tag: str) -> None:
    """Issue 19: ``?tag=a%00b`` reached PostgreSQL (which refuses NUL in text) and answered 500."""
    response = client.get("/courses/", {"tag": tag})
    assert response.status_code == 200
    assert card_titles(response) == []
    assert response.context["courses_page"].paginator.count == 0


def test_catalog_out_of_range_page_shows_last_page(tree: Tree, client: Client) -> None:
    for number in range(CATALOG_PAGE_SIZE):
        make_course(tree.catalog, f"Course {number:02d}", slug=f"course-{number:02d}")
    response = client.get("/courses/", {"page": "99999"})
    assert response.context["courses_page"].number == 2
    assert len(card_titles(response)) == 2


def test_normalize_search_query_keeps_words_only() -> None:
    assert normalize_search_query('  "SQL"  (joins)* OR x\x00 ') == "sql joins or x"
    assert normalize_search_query(" ".join(f"w{i}" for i in range(30))) == " ".join(f"w{i}" for i in range(12))


def test_course_cards_cost_a_fixed_number_of_queries(tree: Tree, django_assert_num_queries: object) -> None:
    make_course(tree.catalog, "Third", slug="third", tags=["Python"])
    # courses, instructors (select_related), cover images + renditions, tags
    with django_assert_num_queries(3):  # type: ignore[operator]
        cards = list(course_cards(site_root=tree.home))
        for card in cards:
            list(card.tags.all())
            _ = card.instructor
    assert len(cards) == 3


@pytest.mark.parametrize("url", [
    "/courses/python-basics/packaging/",
    "/courses/draft-course/",
    "/courses/draft-course/live-lesson/",
])
def test_unpublished_pages_are_404_for_learners(tree: Tree, client: Client, url: str) -> None:
    make_lesson(tree.python, "Packaging", live=False)
    draft_course = make_course(tree.catalog, "Draft course", slug="draft-course", live=False)
    lesson = make_lesson(draft_course, "Live lesson")
    assert lesson.live is True  # a live lesson under a draft course is still not served
    learner = User.objects.create_user("lee", "lee@example.com", "pw-lee-123")

    response = client.get(url)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()
    client.force_login(learner)
    assert client.get(url).status_code == 404


def test_unpublishing_course_hides_its_lessons(tree: Tree, client: Client) -> None:
    assert client.get("/courses/python-basics/variables/").status_code == 200
    CoursePage.objects.get(pk=tree.python.pk).unpublish()
    assert client.get("/courses/python-basics/").status_code == 404
    assert client.get("/courses/python-basics/variables/").status_code == 404


@pytest.mark.postgres
def test_search_on_postgresql_uses_its_full_text_backend(tree: Tree) -> None:
    from wagtail.search.backends import get_search_backend

    assert type(get_search_backend()).__module__ == "modelsearch.backends.database.postgres.postgres"
    # PostgreSQL stems English words: "relations" finds "Relational".
    assert [course.title for course in catalog_search(index_page=tree.catalog, query="relations")] == ["Databases with SQL"]
