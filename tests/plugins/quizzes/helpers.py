"""Builders for quiz tests: a quiz with one question of every kind, and their answers."""

from __future__ import annotations

from typing import Any

from courses.models import CoursePage
from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import add_page

# Strings that only the grader may know: none may appear in a page or response before submitting.
SECRETS = (
    "FEEDBACK-PARIS-SECRET", "FEEDBACK-LYON-SECRET", "FEEDBACK-TWO-SECRET", "FEEDBACK-THREE-SECRET",
    "FEEDBACK-FOUR-SECRET", "ACCEPTED-ANSWER-SECRET", "FEEDBACK-SHORT-RIGHT", "FEEDBACK-SHORT-WRONG",
    "42.125", "FEEDBACK-NUMBER-RIGHT", "FEEDBACK-NUMBER-WRONG",
)


def _choice(choice_id: str, text: str, correct: bool, feedback: str) -> dict[str, Any]:
    return {"type": "item", "id": choice_id, "value": {"text": text, "correct": correct, "feedback": feedback}}


def questions_data() -> list[dict[str, Any]]:
    """Four questions (1 point each), ids q-single, q-multi, q-short, q-number."""
    return [
        {"type": "single_choice", "id": "q-single", "value": {
            "prompt": "<p>Which city is the capital of France?</p>", "points": 1,
            "choices": [
                _choice("c-paris", "Paris", True, "FEEDBACK-PARIS-SECRET"),
                _choice("c-lyon", "Lyon", False, "FEEDBACK-LYON-SECRET"),
            ],
        }},
        {"type": "multiple_choice", "id": "q-multi", "value": {
            "prompt": "<p>Which numbers are prime?</p>", "points": 1,
            "choices": [
                _choice("c-two", "Two", True, "FEEDBACK-TWO-SECRET"),
                _choice("c-three", "Three", True, "FEEDBACK-THREE-SECRET"),
                _choice("c-four", "Four", False, "FEEDBACK-FOUR-SECRET"),
            ],
        }},
        {"type": "short_answer", "id": "q-short", "value": {
            "prompt": "<p>Type the secret word.</p>", "points": 1,
            "accepted_answers": [{"type": "item", "id": "a-1", "value": "Accepted-Answer-Secret"},
                                 {"type": "item", "id": "a-2", "value": "\uff46\uff55\uff4c\uff4c  width"}],
            "case_sensitive": False,
            "feedback_correct": "FEEDBACK-SHORT-RIGHT", "feedback_incorrect": "FEEDBACK-SHORT-WRONG",
        }},
        {"type": "number", "id": "q-number", "value": {
            "prompt": "<p>How much is 42 and one eighth?</p>", "points": 1,
            "answer": "42.125", "tolerance": "0.01",
            "feedback_correct": "FEEDBACK-NUMBER-RIGHT", "feedback_incorrect": "FEEDBACK-NUMBER-WRONG",
        }},
    ]


RIGHT = {"q-single": "c-paris", "q-multi": ["c-two", "c-three"], "q-short": "accepted-answer-secret", "q-number": "42.12"}
WRONG = {"q-single": "c-lyon", "q-multi": ["c-two"], "q-short": "nope", "q-number": "41"}


def make_quiz(course: CoursePage, title: str = "Check yourself", **fields: Any) -> QuizLessonPage:
    """A published quiz under ``course`` with :func:`questions_data` (pass mark 75 unless given)."""
    values = {"pass_mark": 75, "questions": questions_data(), "body": [
        {"type": "paragraph", "value": "<p>Four questions about this course.</p>"}
    ], **fields}
    return add_page(course, QuizLessonPage(title=title, **values))


def form_data(answers: dict[str, Any]) -> dict[str, Any]:
    """The quiz form's POST data for ``answers``."""
    return {f"q-{question_id}": value for question_id, value in answers.items()}
