"""What the quiz page costs to render (page cache off), exactly, whatever the attempts.

As in tests/courses/test_page_queries.py the first request warms the shared caches (site root
paths, restricted pages, plugin activation, the session), as for every request but the first.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from courses import routing
from plugins.quizzes.models import QuizLessonPage
from plugins.quizzes.services import quiz_attempt_start, quiz_attempt_submit
from tests.courses.helpers import logged_in
from tests.courses.test_page_queries import (
    LESSON_ANONYMOUS_QUERIES,
    LESSON_ENROLLED_QUERIES,
    LESSON_ENROLLED_WARM_QUERIES,
)
from tests.plugins.quizzes.helpers import WRONG

URL = "/courses/python-basics/check-yourself/"
# Cold (the first request after a tree change, see tests/courses/test_page_queries.py): the
# route's one query finds the quiz's page row and its lesson row; the quiz's own row is one more
# query (courses.models._joined_specific). Warm, the route comes from the cache with it.
QUIZ_ROUTE_EXTRA = 1
QUIZ_ANONYMOUS_QUERIES = LESSON_ANONYMOUS_QUERIES + QUIZ_ROUTE_EXTRA
# ... enrolled: the lesson's enrolled cost + the learner's attempts at this quiz (1).
QUIZ_ENROLLED_QUERIES = LESSON_ENROLLED_QUERIES + QUIZ_ROUTE_EXTRA + 1
QUIZ_ENROLLED_WARM_QUERIES = LESSON_ENROLLED_WARM_QUERIES + 1


@pytest.fixture(autouse=True)
def _render_every_time(settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = False


def _count(client: Client, *, cold: bool = False) -> int:
    """Queries of a GET of the quiz, warm, or cold (just after a change of the page tree)."""
    assert client.get(URL).status_code == 200
    if cold:
        routing.forget_tree()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_quiz_page_queries_anonymous_and_enrolled(enrolled: Any, quiz: QuizLessonPage) -> None:
    assert _count(Client(), cold=True) == QUIZ_ANONYMOUS_QUERIES
    assert _count(Client()) == 0
    client = logged_in(enrolled)
    assert _count(client, cold=True) == QUIZ_ENROLLED_QUERIES
    assert _count(client) == QUIZ_ENROLLED_WARM_QUERIES
    for _ in range(10):
        attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=WRONG)
    quiz_attempt_start(user=enrolled, quiz=quiz.pk)
    assert _count(client) == QUIZ_ENROLLED_WARM_QUERIES
