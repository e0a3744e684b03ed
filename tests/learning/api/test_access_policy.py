"""The API follows the one access policy exactly as the pages do: the access matrix's world (9
kinds of user x 6 kinds of course: open, paid, login, group, password, draft) through the API's
course and lesson doors, compared with the page tables of tests/learning/test_access_matrix.py.

Lists filter at the database (``access.visible_pages_filter``); details ask the policy per page
(``access.course_access`` / ``lesson_access``): both must agree with the pages.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.learning.access_world import COURSES, USERS, World
from tests.learning.test_access_matrix import COURSE_PAGE, LESSON_PAGE, measure, world

__all__ = ["world"]

# What the API answers where the page answered: a page -> 200 (lesson: body or locked), the
# login redirect or the password form -> 403 (restricted), 404 -> 404.
PAGE_TO_API = {"page": "200", "body": "body", "locked": "locked", "login": "403", "password": "403", "404": "404"}


def as_api(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {role: tuple(PAGE_TO_API[cell] for cell in cells) for role, cells in table.items()}


def listed(table: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """The kinds of course a list shows each user: those whose page they may see."""
    return {role: {kind for kind, cell in zip(COURSES, cells, strict=True) if cell in {"page", "body", "locked"}}
            for role, cells in table.items()}


def test_course_detail_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        return str(world.client(role).get(f"/api/v1/courses/{world.courses[kind].page.pk}/").status_code)

    assert measure(world, outcome) == as_api(COURSE_PAGE)


def test_lesson_detail_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        response = world.client(role).get(f"/api/v1/lessons/{world.courses[kind].lesson.pk}/")
        if response.status_code != 200:
            return str(response.status_code)
        body = response.json()
        assert (body["body_html"] is None) == body["locked"]
        if not body["locked"]:
            assert world.courses[kind].body_word in body["body_html"]
        return "locked" if body["locked"] else "body"

    assert measure(world, outcome) == as_api(LESSON_PAGE)


@pytest.mark.parametrize("path", ["/api/v1/courses/", "/api/v1/lessons/"])
def test_lists_show_what_the_pages_show(world: World, path: str) -> None:
    slugs = {kind: (world.courses[kind].page.slug if "courses" in path else world.courses[kind].lesson.slug)
             for kind in COURSES}

    def shown(role: str) -> set[str]:
        rows: Any = world.client(role).get(f"{path}?page_size=100").json()["results"]
        return {kind for kind, slug in slugs.items() if any(row["url"].rstrip("/").endswith(slug) for row in rows)}

    assert {role: shown(role) for role in USERS} == listed(COURSE_PAGE)
