"""A mobile app's quiz journey through a client generated from the API's own schema
(openapi-python-client; the ``generated_client`` fixture of tests/learning/api/conftest.py):
with a learner's token, list the courses, enroll, find the quiz among the lessons by its kind,
start it under ``/api/v1/p/quizzes/``, answer every question, submit, read the result and see
the lesson completed in the progress, every call a typed function of the generated package
(``bench._client.quiz_journey``, which the integration bench runs against a real server too).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from academy import ratelimit
from bench import _client as client_generation
from learning import tokens
from learning.models import LessonProgress
from plugins.quizzes import demo
from plugins.quizzes.models import QuizAttempt
from tests.courses.helpers import make_tree
from tests.learning.api.conftest import generated_api
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import make_quiz

pytestmark = pytest.mark.django_db


def test_a_learner_app_takes_the_demo_quiz_with_the_generated_client(generated_client: ModuleType) -> None:
    ratelimit.reset()
    tree = make_tree()
    quiz = make_quiz(tree.python, "Check your understanding", questions=demo.QUESTIONS, pass_mark=60)
    learner = make_user("mo")
    client = generated_api(generated_client, tokens.token_create(user=learner, name="phone").secret)

    journey = client_generation.quiz_journey(
        generated_client, client, course_title=tree.python.title, answers=client_generation.DEMO_ANSWERS,
    )

    assert (journey.course_id, journey.quiz_id, journey.questions) == (tree.python.pk, quiz.pk, len(demo.QUESTIONS))
    assert (journey.passed, journey.percent, journey.completed_in_progress) == (True, 100, True)
    assert journey.course_completed is False  # the course's three other lessons are still to do
    assert all(status < 300 for status in journey.statuses)
    attempt = QuizAttempt.objects.get(pk=journey.attempt_id)
    assert (attempt.user_id, attempt.quiz_id, attempt.passed) == (learner.pk, quiz.pk, True)
    assert LessonProgress.objects.filter(user=learner, lesson_id=quiz.pk, completed_at__isnull=False).exists()


def test_a_wrong_answer_set_fails_the_quiz_and_leaves_the_lesson_open(generated_client: ModuleType) -> None:
    ratelimit.reset()
    tree = make_tree()
    make_quiz(tree.python, "Check your understanding", questions=demo.QUESTIONS, pass_mark=60)
    learner: Any = make_user("mo")
    client = generated_api(generated_client, tokens.token_create(user=learner, name="phone").secret)
    wrong = {**client_generation.DEMO_ANSWERS, "demo-collect": "collect-all", "demo-keyword": "yield"}

    journey = client_generation.quiz_journey(generated_client, client, course_title=tree.python.title, answers=wrong)

    assert (journey.passed, journey.completed_in_progress) == (False, False)
    assert round(journey.percent or 0) == 33
