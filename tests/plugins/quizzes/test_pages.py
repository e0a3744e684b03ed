"""The quiz lesson page and its form posts: what learners see, what never reaches them, refusals."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from academy.plugins.activation import set_state
from learning.models import LessonProgress
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import RIGHT, SECRETS, WRONG, form_data, make_quiz

pytestmark = pytest.mark.django_db

QUIZ_URL = "/courses/python-basics/check-yourself/"


def _start(client: Client, quiz: QuizLessonPage) -> QuizAttempt:
    response = client.post(f"/p/quizzes/{quiz.pk}/start/")
    assert response.status_code == 302
    assert response["Location"] == f"{QUIZ_URL}#quiz"
    return QuizAttempt.objects.get(quiz=quiz, submitted_at__isnull=True)


def _assert_no_secret(html: str) -> None:
    leaked = [secret for secret in SECRETS if secret.lower() in html.lower()]
    assert leaked == []


def test_the_open_attempts_form_carries_no_answer(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = logged_in(enrolled)
    before = client.get(QUIZ_URL).content.decode()
    assert 'data-quiz-start' in before and "Start the quiz" in before
    _assert_no_secret(before)
    attempt = _start(client, quiz)
    html = client.get(QUIZ_URL).content.decode()
    _assert_no_secret(html)
    assert f'action="/p/quizzes/attempts/{attempt.pk}/submit/"' in html
    # Right and wrong choices are rendered the same way: only their id and text differ.
    # (the quiz's own inputs: another plugin's form, e.g. a discussion's, may share the page)
    inputs = re.findall(r"<input type=\"(?:radio|checkbox)\" name=\"q-[^>]*>", html)
    assert inputs == [
        '<input type="radio" name="q-q-single" value="c-paris" required>',
        '<input type="radio" name="q-q-single" value="c-lyon" required>',
        '<input type="checkbox" name="q-q-multi" value="c-two">',
        '<input type="checkbox" name="q-q-multi" value="c-three">',
        '<input type="checkbox" name="q-q-multi" value="c-four">',
    ]
    assert "correct" not in html.lower()
    assert "data-complete-lesson" not in html  # no "Mark as complete" on a quiz


def test_a_passing_submission_shows_score_feedback_and_completes(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = logged_in(enrolled)
    attempt = _start(client, quiz)
    response = client.post(f"/p/quizzes/attempts/{attempt.pk}/submit/", form_data(RIGHT))
    assert response.status_code == 302
    assert response["Location"] == f"{QUIZ_URL}#quiz-result"
    html = client.get(QUIZ_URL).content.decode()
    assert "Attempt 1: 100% · passed" in html
    assert "4 of 4 points; the pass mark is 75%." in html
    for feedback in ("FEEDBACK-PARIS-SECRET", "FEEDBACK-TWO-SECRET", "FEEDBACK-SHORT-RIGHT", "FEEDBACK-NUMBER-RIGHT"):
        assert feedback in html
    assert "FEEDBACK-LYON-SECRET" not in html
    assert 'data-lesson-state="complete"' in html
    assert LessonProgress.objects.get(user=enrolled, lesson_id=quiz.pk).completed_at is not None


def test_a_failing_submission_shows_the_result_and_try_again(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = logged_in(enrolled)
    attempt = _start(client, quiz)
    client.post(f"/p/quizzes/attempts/{attempt.pk}/submit/", form_data(WRONG))
    html = client.get(QUIZ_URL).content.decode()
    assert "Attempt 1: 0% · not passed" in html
    assert "Try again" in html
    assert 'data-lesson-state="complete"' not in html
    assert not LessonProgress.objects.filter(user=enrolled, lesson_id=quiz.pk).exists()


def test_missing_answers_are_a_400_with_a_message(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = logged_in(enrolled)
    attempt = _start(client, quiz)
    response = client.post(f"/p/quizzes/attempts/{attempt.pk}/submit/", form_data({**RIGHT, "q-short": ""}))
    assert response.status_code == 400
    assert "Question 3: answer this question." in response.content.decode()
    assert f'href="{QUIZ_URL}#quiz"' in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.submitted_at is None


def test_replayed_submission_is_a_409(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = logged_in(enrolled)
    attempt = _start(client, quiz)
    url = f"/p/quizzes/attempts/{attempt.pk}/submit/"
    assert client.post(url, form_data(WRONG)).status_code == 302
    replay = client.post(url, form_data(RIGHT))
    assert replay.status_code == 409
    assert "already submitted" in replay.content.decode()
    assert QuizAttempt.objects.get(pk=attempt.pk).passed is False


def test_over_the_attempt_limit_is_a_409(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "One try", slug="one-try", attempt_limit=1)
    client = logged_in(enrolled)
    client.post(f"/p/quizzes/{quiz.pk}/start/")
    attempt = QuizAttempt.objects.get(quiz=quiz)
    client.post(f"/p/quizzes/attempts/{attempt.pk}/submit/", form_data(WRONG))
    response = client.post(f"/p/quizzes/{quiz.pk}/start/")
    assert response.status_code == 409
    assert "You have used all 1 attempt(s) this quiz allows." in response.content.decode()
    html = client.get("/courses/python-basics/one-try/").content.decode()
    assert 'data-quiz-state="no-attempts-left"' in html
    assert QuizAttempt.objects.filter(quiz=quiz).count() == 1


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/p/quizzes/{quiz}/start/", 405),
        ("get", "/p/quizzes/attempts/1/submit/", 405),
        ("post", "/p/quizzes/999999/start/", 404),
        ("post", "/p/quizzes/99999999999999999999999/start/", 404),
        ("post", "/p/quizzes/attempts/99999999999999999999999/submit/", 404),
        ("post", "/p/quizzes/attempts/424242/submit/", 404),
    ],
)
def test_bad_requests_are_4xx(enrolled: Any, quiz: QuizLessonPage, method: str, url: str, status: int) -> None:
    response = getattr(logged_in(enrolled), method)(url.format(quiz=quiz.pk))
    assert response.status_code == status


def test_anonymous_visitors_are_sent_to_log_in(quiz: QuizLessonPage) -> None:
    response = Client().post(f"/p/quizzes/{quiz.pk}/start/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    html = Client().get(QUIZ_URL).content.decode()
    assert 'data-lesson-state="locked"' in html
    _assert_no_secret(html)
    assert QuizAttempt.objects.count() == 0


def test_a_learner_not_enrolled_gets_a_403(learner: Any, quiz: QuizLessonPage) -> None:
    response = logged_in(learner).post(f"/p/quizzes/{quiz.pk}/start/")
    assert response.status_code == 403
    assert "Enroll in this course to take the quiz." in response.content.decode()


def test_editors_see_a_preview_without_questions(quiz: QuizLessonPage) -> None:
    editor = make_user("eve")
    editor.groups.add(Group.objects.get(name="Editors"))
    html = logged_in(editor).get(QUIZ_URL).content.decode()
    assert 'data-quiz-state="preview"' in html
    assert "data-quiz-form" not in html and "data-quiz-start" not in html
    _assert_no_secret(html)


def test_mark_complete_post_is_refused_by_the_gate(enrolled: Any, quiz: QuizLessonPage) -> None:
    response = logged_in(enrolled).post("/learning/progress/", {"lesson_id": str(quiz.pk)})
    assert response.status_code == 409
    assert "Pass the quiz to complete this lesson." in response.content.decode()
    assert not LessonProgress.objects.filter(lesson_id=quiz.pk).exists()


def test_switched_off_for_the_course_the_quiz_is_gone(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    set_state("quizzes", "off", course_id=tree.python.pk)
    client = logged_in(enrolled)
    assert client.get(QUIZ_URL).status_code == 404
    assert client.post(f"/p/quizzes/{quiz.pk}/start/").status_code == 404
    assert "Check yourself" not in client.get("/courses/python-basics/").content.decode()
