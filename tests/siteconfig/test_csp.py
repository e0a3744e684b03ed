"""The Content-Security-Policy header (django-csp) and the inline-free learner pages.

Headless Chromium checks the pages for violations (tests/realtime/test_csp.py); these tests pin
the policy itself and scan the HTML of every learner page for anything the policy would block.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from learning import services
from tests.courses.helpers import Tree, logged_in, make_image, make_lesson, make_tree
from tests.learning.conftest import IMMEDIATE_TASKS, make_user

pytestmark = pytest.mark.django_db

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'", "https:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}
# What a strict policy blocks: a <script> without src (JSON data blocks are not run), a <style>
# element, an inline event handler, a style attribute, a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style[\s>]|\son[a-z]+\s*=|\sstyle\s*=|javascript:",
    re.IGNORECASE,
)


@pytest.fixture
def tree(settings: Any) -> Tree:
    settings.TASKS = IMMEDIATE_TASKS
    made = make_tree()
    make_lesson(made.python, "Everything", body=[
        {"type": "heading", "value": {"text": "A heading", "level": "h2"}},
        {"type": "paragraph", "value": "<p>Some <b>bold</b> text and <code>code</code>.</p>"},
        {"type": "code", "value": {"language": "python", "code": "print('hi')", "caption": "Hello"}},
        {"type": "callout", "value": {"kind": "tip", "title": "Tip", "body": "<p>Careful.</p>"}},
        {"type": "image", "value": {"image": make_image().pk, "alt_text": "A diagram", "caption": "Figure 1"}},
        {"type": "video", "value": {"video": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "caption": "Talk"}},
    ])
    return made


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def _learner_pages(tree: Tree) -> tuple[Client, list[str]]:
    learner = make_user("ada")
    client = logged_in(learner)
    services.enrollment_request(user=learner, course=tree.python)
    return client, ["/courses/", "/courses/python-basics/", "/courses/python-basics/variables/",
                    "/courses/python-basics/everything/", "/dashboard/", "/accounts/tokens/"]


ANONYMOUS_PAGES = [
    "/", "/courses/", "/courses/python-basics/", "/courses/python-basics/variables/",
    "/accounts/signup/", "/accounts/login/", "/accounts/password_reset/", "/accounts/password_reset/done/",
    "/accounts/reset/MQ/bad-token/", "/no-such-page/",
]


def test_learner_pages_send_the_strict_policy_and_carry_nothing_inline(tree: Tree, client: Client) -> None:
    learner_client, learner_pages = _learner_pages(tree)
    for who, http, paths in (("learner", learner_client, learner_pages), ("anonymous", client, ANONYMOUS_PAGES)):
        for path in paths:
            response = http.get(path)
            assert response.status_code in (200, 404), (who, path, response.status_code)
            assert _policy(response["Content-Security-Policy"]) == EXPECTED_POLICY, (who, path)
            html = response.content.decode()
            assert INLINE.findall(html) == [], (who, path)


def test_the_progress_bar_width_comes_from_the_stylesheet(tree: Tree) -> None:
    learner_client, _ = _learner_pages(tree)
    html = learner_client.get("/courses/python-basics/").content.decode()
    assert '<span data-progress-bar data-percent="0"></span>' in html
    with open("static/css/academy.css") as css:
        rules = re.findall(r'\[data-progress-bar\]\[data-percent="(\d+)"\] \{ width: (\d+)%; \}', css.read())
    assert [(int(a), int(b)) for a, b in rules] == [(n, n) for n in range(101)]


def test_admin_pages_are_outside_the_policy(tree: Tree) -> None:
    staff = make_user("sam", is_staff=True, is_superuser=True)
    client = logged_in(staff)
    for path in ("/admin/", f"/admin/pages/{tree.python.pk}/edit/", "/django-admin/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" not in response, path
