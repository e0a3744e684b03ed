"""Staff read quiz results in the Wagtail admin: per quiz, per learner, and as a safe CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from learning.services import enrollment_request
from plugins.quizzes.models import QuizLessonPage
from plugins.quizzes.services import quiz_attempt_start, quiz_attempt_submit
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import RIGHT, WRONG

pytestmark = pytest.mark.django_db

RESULTS = "/admin/quizzes/quizattempt/"


def _attempt(user: Any, quiz: QuizLessonPage, answers: dict[str, Any]) -> None:
    attempt = quiz_attempt_start(user=user, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=user, attempt=attempt.pk, answers=answers)


@pytest.fixture
def staff(db: None) -> Any:
    """Admin access and the permission to read quiz results."""
    user = make_user("sam", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="view_quizattempt", content_type__app_label="quizzes"),
    )
    return user


def test_results_per_quiz_and_learner_export_formula_safe_csv(
    enrolled: Any, tree: Tree, quiz: QuizLessonPage, staff: Any
) -> None:
    mallory = make_user("mallory", first_name="=HYPERLINK(\"http://evil\")", last_name="x")
    enrollment_request(user=mallory, course=tree.python)
    _attempt(enrolled, quiz, WRONG)
    _attempt(enrolled, quiz, RIGHT)
    _attempt(mallory, quiz, WRONG)
    client = logged_in(staff)
    listing = client.get(RESULTS, {"quiz": quiz.pk, "q": "ada"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert html.count("100.00% (4 of 4)") == 1 and html.count("0.00% (0 of 4)") == 1
    response = client.get(RESULTS, {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Learner", "Email", "Quiz", "Course", "Number", "Points", "Max Points", "Percent", "Result",
        "Started At", "Submitted At",
    ]
    body = sorted(row[:9] for row in rows[1:])
    assert body == [
        ["'=HYPERLINK(\"http://evil\") x (mallory)", "mallory@example.com", "Check yourself", "Python basics",
         "1", "0", "4", "0.00", "not passed"],
        ["ada", "ada@example.com", "Check yourself", "Python basics", "1", "0", "4", "0.00", "not passed"],
        ["ada", "ada@example.com", "Check yourself", "Python basics", "2", "4", "4", "100.00", "passed"],
    ]


def test_results_are_not_for_learners_or_editors_without_permission(
    enrolled: Any, quiz: QuizLessonPage
) -> None:
    _attempt(enrolled, quiz, RIGHT)
    assert logged_in(enrolled).get(RESULTS).status_code == 302  # to the admin's login
    editor = make_user("eve")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"))
    assert logged_in(editor).get(RESULTS, {"export": "csv"}).status_code in (302, 403)


def test_a_bad_filter_returns_to_the_list(staff: Any, quiz: QuizLessonPage) -> None:
    response = logged_in(staff).get(RESULTS, {"quiz": "abc"})
    assert response.status_code == 302
    assert response["Location"] == RESULTS
