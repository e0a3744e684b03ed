"""Concurrent starts and submissions on PostgreSQL: the attempt limit and single grading hold.

Each thread has its own connection and waits on a barrier so the calls overlap; the enrollment
row lock and the unique attempt number must leave exactly what one caller at a time would.
"""

from __future__ import annotations

from typing import Any

import pytest

from learning.models import LessonProgress
from learning.services import ServiceError
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from plugins.quizzes.services import (
    AttemptAlreadySubmitted,
    AttemptLimitReached,
    quiz_attempt_start,
    quiz_attempt_submit,
)
from tests.courses.helpers import Tree
from tests.learning.test_races import THREADS, run_concurrently
from tests.plugins.quizzes.helpers import RIGHT, WRONG, make_quiz

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _outcome(call: Any) -> Any:
    """The call's result, or the service error it raised (as a value, so every thread reports)."""
    try:
        return call()
    except ServiceError as exc:
        return exc


def test_concurrent_starts_never_pass_the_attempt_limit(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "Two tries", slug="two-tries", attempt_limit=2)
    first = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=enrolled, attempt=first.pk, answers=WRONG)
    outcomes = run_concurrently([lambda: _outcome(lambda: quiz_attempt_start(user=enrolled, quiz=quiz.pk))] * THREADS)
    started = [outcome for outcome in outcomes if not isinstance(outcome, ServiceError)]
    assert [type(outcome) for outcome in outcomes if isinstance(outcome, ServiceError)] == []
    # One new attempt; the other callers got that same open attempt back.
    assert sorted(result.created for result in started) == [False] * (THREADS - 1) + [True]
    assert {result.attempt.pk for result in started} == {QuizAttempt.objects.get(number=2).pk}
    assert list(QuizAttempt.objects.filter(quiz=quiz).order_by("number").values_list("number", flat=True)) == [1, 2]


def test_concurrent_starts_after_the_last_attempt_are_all_refused(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "One try", slug="one-try", attempt_limit=1)
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=WRONG)
    outcomes = run_concurrently([lambda: _outcome(lambda: quiz_attempt_start(user=enrolled, quiz=quiz.pk))] * THREADS)
    assert [type(outcome) for outcome in outcomes] == [AttemptLimitReached] * THREADS
    assert QuizAttempt.objects.filter(quiz=quiz).count() == 1


def test_concurrent_submissions_of_one_attempt_grade_it_once(
    enrolled: Any, quiz: QuizLessonPage, captured_events: list[tuple[str, dict[str, Any]]]
) -> None:
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    answers = [RIGHT if n % 2 == 0 else WRONG for n in range(THREADS)]
    outcomes = run_concurrently(
        [
            (lambda given=given: _outcome(lambda: quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=given)))
            for given in answers
        ]
    )
    graded = [outcome for outcome in outcomes if not isinstance(outcome, ServiceError)]
    refused = [type(outcome) for outcome in outcomes if isinstance(outcome, ServiceError)]
    assert (len(graded), refused) == (1, [AttemptAlreadySubmitted] * (THREADS - 1))
    attempt.refresh_from_db()
    assert attempt.score == graded[0].attempt.score
    assert sum(1 for name, _payload in captured_events if name == "quizzes_attempt_graded") == 1
    completions = sum(1 for name, _payload in captured_events if name == "lesson_completed")
    assert completions == (1 if attempt.passed else 0)
    assert LessonProgress.objects.filter(lesson_id=quiz.pk).count() == completions
