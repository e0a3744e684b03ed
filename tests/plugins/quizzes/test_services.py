"""Starting and submitting attempts: grading, the completion gate, limits, bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from academy.plugins.activation import set_state
from learning.models import Enrollment, LessonProgress
from learning.services import (
    CompletionNotAllowed,
    LessonNotAvailable,
    NotEnrolled,
    enrollment_request,
    lesson_progress_record,
)
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from plugins.quizzes.services import (
    AttemptAlreadySubmitted,
    AttemptExpired,
    AttemptLimitReached,
    AttemptNotFound,
    InvalidAnswers,
    quiz_attempt_start,
    quiz_attempt_submit,
)
from tests.courses.helpers import Tree
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import RIGHT, WRONG, make_quiz

pytestmark = pytest.mark.django_db


def _submit(user: Any, quiz: QuizLessonPage, answers: dict[str, Any]) -> QuizAttempt:
    attempt = quiz_attempt_start(user=user, quiz=quiz.pk).attempt
    return quiz_attempt_submit(user=user, attempt=attempt.pk, answers=answers).attempt


def test_submit_all_right_passes_and_completes_the_lesson(enrolled: Any, quiz: QuizLessonPage) -> None:
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    result = quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=RIGHT)
    attempt.refresh_from_db()
    assert (attempt.score, attempt.max_score, attempt.percent, attempt.passed) == (4, 4, Decimal("100.00"), True)
    assert result.progress is not None and result.progress.newly_completed is True
    assert LessonProgress.objects.get(user=enrolled, lesson_id=quiz.pk).completed_at is not None
    assert [r["feedback"] for r in attempt.results] == [
        ["FEEDBACK-PARIS-SECRET"], ["FEEDBACK-TWO-SECRET", "FEEDBACK-THREE-SECRET"],
        ["FEEDBACK-SHORT-RIGHT"], ["FEEDBACK-NUMBER-RIGHT"],
    ]


def test_submit_all_wrong_fails_and_leaves_the_lesson_incomplete(enrolled: Any, quiz: QuizLessonPage) -> None:
    attempt = _submit(enrolled, quiz, WRONG)
    assert (attempt.score, attempt.percent, attempt.passed) == (0, Decimal("0.00"), False)
    assert [r["correct"] for r in attempt.results] == [False, False, False, False]
    assert [r["feedback"] for r in attempt.results] == [
        ["FEEDBACK-LYON-SECRET"], ["FEEDBACK-TWO-SECRET"], ["FEEDBACK-SHORT-WRONG"], ["FEEDBACK-NUMBER-WRONG"],
    ]
    assert not LessonProgress.objects.filter(user=enrolled, lesson_id=quiz.pk).exists()


@pytest.mark.parametrize(
    ("question", "answer", "correct"),
    [
        ("q-single", "c-paris", True),
        ("q-single", "c-lyon", False),
        ("q-multi", ["c-three", "c-two"], True),
        ("q-multi", ["c-two"], False),
        ("q-multi", ["c-two", "c-three", "c-four"], False),
        ("q-short", "  ACCEPTED-answer-secret ", True),
        ("q-short", "ACCEPTED ANSWER SECRET", False),
        ("q-short", "full width", True),
        ("q-short", "Full   Width", True),
        ("q-number", "42.125", True),
        ("q-number", "42,115", True),
        ("q-number", "42.135", True),
        ("q-number", "42.136", False),
        ("q-number", "4.2125e1", True),
        ("q-number", "-42.125", False),
    ],
)
def test_grading_of_each_question_kind(
    enrolled: Any, quiz: QuizLessonPage, question: str, answer: Any, correct: bool
) -> None:
    attempt = _submit(enrolled, quiz, {**WRONG, question: answer})
    by_id = {result["id"]: result for result in attempt.results}
    assert by_id[question]["correct"] is correct
    assert attempt.score == (1 if correct else 0)


def test_short_answer_case_sensitive(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "Case quiz", slug="case-quiz")
    data = quiz.questions.get_prep_value()
    data[2]["value"]["case_sensitive"] = True
    quiz.questions = data
    quiz.save_revision().publish()
    assert _submit(enrolled, quiz, {**WRONG, "q-short": "accepted-answer-secret"}).score == 0
    assert _submit(enrolled, quiz, {**WRONG, "q-short": "Accepted-Answer-Secret"}).score == 1


def test_pass_mark_is_exact(enrolled: Any, quiz: QuizLessonPage) -> None:
    three_of_four = _submit(enrolled, quiz, {**RIGHT, "q-number": "1"})
    assert (three_of_four.percent, three_of_four.passed) == (Decimal("75.00"), True)
    QuizLessonPage.objects.filter(pk=quiz.pk).update(pass_mark=76)
    quiz.refresh_from_db()
    again = _submit(enrolled, quiz, {**RIGHT, "q-number": "1"})
    assert (again.percent, again.passed) == (Decimal("75.00"), False)


def test_gate_refuses_completion_without_a_passing_attempt(enrolled: Any, quiz: QuizLessonPage) -> None:
    with pytest.raises(CompletionNotAllowed) as refused:
        lesson_progress_record(user=enrolled, lesson=quiz.pk, completed=True)
    assert refused.value.status_code == 409
    assert refused.value.message == "Pass the quiz to complete this lesson."
    _submit(enrolled, quiz, WRONG)
    with pytest.raises(CompletionNotAllowed):
        lesson_progress_record(user=enrolled, lesson=quiz.pk, completed=True)
    assert quiz.completion_gate(enrolled) == "Pass the quiz to complete this lesson."


def test_gate_opens_after_a_pass(enrolled: Any, quiz: QuizLessonPage) -> None:
    _submit(enrolled, quiz, RIGHT)
    assert quiz.completion_gate(enrolled) is None
    again = lesson_progress_record(user=enrolled, lesson=quiz.pk, completed=True)
    assert again.newly_completed is False


def test_passing_every_lesson_completes_the_course(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    for lesson in tree.lessons:
        lesson_progress_record(user=enrolled, lesson=lesson.pk, completed=True)
    result = quiz_attempt_submit(
        user=enrolled, attempt=quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt.pk, answers=RIGHT
    )
    assert result.progress is not None
    assert (result.progress.completed_lessons, result.progress.total_lessons) == (4, 4)
    assert result.progress.course_newly_completed is True
    assert Enrollment.objects.get(user=enrolled, course=tree.python).status == Enrollment.Status.COMPLETED


def test_start_returns_the_open_attempt(enrolled: Any, quiz: QuizLessonPage) -> None:
    first = quiz_attempt_start(user=enrolled, quiz=quiz.pk)
    second = quiz_attempt_start(user=enrolled, quiz=quiz.pk)
    assert (first.created, second.created, second.attempt.pk) == (True, False, first.attempt.pk)
    assert QuizAttempt.objects.count() == 1


def test_attempt_limit(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "Two tries", slug="two-tries", attempt_limit=2)
    _submit(enrolled, quiz, WRONG)
    _submit(enrolled, quiz, WRONG)
    with pytest.raises(AttemptLimitReached) as refused:
        quiz_attempt_start(user=enrolled, quiz=quiz.pk)
    assert refused.value.status_code == 409
    assert QuizAttempt.objects.filter(quiz=quiz).count() == 2


def test_replayed_submission_is_refused(enrolled: Any, quiz: QuizLessonPage) -> None:
    attempt = _submit(enrolled, quiz, WRONG)
    with pytest.raises(AttemptAlreadySubmitted):
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=RIGHT)
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed) == (0, False)


def test_expired_attempt_cannot_be_submitted_and_counts(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "Timed", slug="timed", time_limit_minutes=5, attempt_limit=1)
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    assert attempt.deadline == attempt.started_at + timedelta(minutes=5)
    QuizAttempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(seconds=6))
    with pytest.raises(AttemptExpired) as refused:
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=RIGHT)
    assert refused.value.status_code == 409
    attempt.refresh_from_db()
    assert (attempt.submitted_at, attempt.answers, attempt.passed) == (None, {}, False)
    with pytest.raises(AttemptLimitReached):
        quiz_attempt_start(user=enrolled, quiz=quiz.pk)


def test_submission_within_the_time_limit_is_graded(enrolled: Any, tree: Tree) -> None:
    quiz = make_quiz(tree.python, "Timed", slug="timed", time_limit_minutes=5)
    assert _submit(enrolled, quiz, RIGHT).passed is True


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({}, ["Question 1: answer this question.", "Question 2: answer this question.",
              "Question 3: answer this question.", "Question 4: answer this question."]),
        ({**RIGHT, "q-single": ["c-paris", "c-lyon"]}, ["Question 1: choose one answer."]),
        ({**RIGHT, "q-single": "c-two"}, ["Question 1: that choice is not one of this question's."]),
        ({**RIGHT, "q-multi": ["c-two", "c-two"]}, ["Question 2: choose from the choices given."]),
        ({**RIGHT, "q-multi": [1, 2]}, ["Question 2: choose from the choices given."]),
        ({**RIGHT, "q-short": "x" * 501}, ["Question 3: at most 500 characters."]),
        ({**RIGHT, "q-short": ["a", "b"]}, ["Question 3: type an answer."]),
        ({**RIGHT, "q-number": "forty-two"}, ["Question 4: enter a number, like 42 or 3.5."]),
        ({**RIGHT, "q-number": "NaN"}, ["Question 4: enter a number, like 42 or 3.5."]),
        ({**RIGHT, "q-number": True}, ["Question 4: enter a number, like 42 or 3.5."]),
        ({**RIGHT, "q-other-quiz": "c-x"}, ["1 answer(s) are not for a question of this quiz."]),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(
    enrolled: Any, quiz: QuizLessonPage, answers: dict[str, Any], errors: list[str]
) -> None:
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    with pytest.raises(InvalidAnswers) as refused:
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=answers)
    assert refused.value.status_code == 400
    assert sorted(refused.value.errors.values()) == sorted(errors)
    attempt.refresh_from_db()
    assert (attempt.submitted_at, attempt.answers, attempt.results, attempt.score) == (None, {}, [], None)


def test_answers_to_another_quiz_are_refused(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    other = make_quiz(tree.python, "Other", slug="other", questions=[{
        "type": "short_answer", "id": "q-elsewhere", "value": {
            "prompt": "<p>?</p>", "points": 1, "accepted_answers": [{"type": "item", "id": "x", "value": "x"}],
            "case_sensitive": False, "feedback_correct": "", "feedback_incorrect": "",
        },
    }])
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    with pytest.raises(InvalidAnswers):
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers={"q-elsewhere": "x"})
    assert QuizAttempt.objects.filter(quiz=other).count() == 0


def test_someone_elses_attempt_is_not_found(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    bob = make_user("bob")
    enrollment_request(user=bob, course=tree.python)
    with pytest.raises(AttemptNotFound) as refused:
        quiz_attempt_submit(user=bob, attempt=attempt.pk, answers=RIGHT)
    assert refused.value.status_code == 404
    with pytest.raises(AttemptNotFound):
        quiz_attempt_submit(user=bob, attempt=True, answers=RIGHT)  # type: ignore[arg-type]


def test_not_enrolled_learner_cannot_start(learner: Any, quiz: QuizLessonPage) -> None:
    with pytest.raises(NotEnrolled) as refused:
        quiz_attempt_start(user=learner, quiz=quiz.pk)
    assert refused.value.status_code == 403
    assert QuizAttempt.objects.count() == 0


def test_quiz_switched_off_for_the_course_cannot_be_started(
    enrolled: Any, tree: Tree, quiz: QuizLessonPage, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        set_state("quizzes", "off", course_id=tree.python.pk)
    with pytest.raises(LessonNotAvailable):
        quiz_attempt_start(user=enrolled, quiz=quiz.pk)


def test_editing_the_quiz_keeps_open_and_past_attempts_as_they_were(enrolled: Any, quiz: QuizLessonPage) -> None:
    graded = _submit(enrolled, quiz, RIGHT)
    open_attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    data = quiz.questions.get_prep_value()
    data[0]["value"]["choices"][0]["value"]["correct"] = False
    data[0]["value"]["choices"][1]["value"]["correct"] = True
    quiz.questions = data
    quiz.pass_mark = 100
    quiz.save_revision().publish()
    result = quiz_attempt_submit(user=enrolled, attempt=open_attempt.pk, answers=RIGHT).attempt
    graded.refresh_from_db()
    assert (graded.score, graded.passed) == (4, True)
    assert (result.score, result.pass_mark, result.passed) == (4, 75, True)


def test_graded_attempt_event_payload(
    enrolled: Any, quiz: QuizLessonPage, tree: Tree, captured_events: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    attempt = quiz_attempt_start(user=enrolled, quiz=quiz.pk).attempt
    with django_capture_on_commit_callbacks(execute=True):
        quiz_attempt_submit(user=enrolled, attempt=attempt.pk, answers=RIGHT)
    names = [name for name, _payload in captured_events]
    assert (names.count("lesson_completed"), names.count("quizzes_attempt_graded")) == (1, 1)
    assert dict(captured_events)["quizzes_attempt_graded"] == {
        "attempt_id": attempt.pk, "quiz_id": quiz.pk, "course_id": tree.python.pk, "user_id": enrolled.pk,
        "number": 1, "score": 4, "max_score": 4, "passed": True,
    }
