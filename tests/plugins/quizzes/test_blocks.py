"""Editors' validation of questions, and the public view that learners get before submitting."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from plugins.quizzes.blocks import QuizQuestionsBlock
from plugins.quizzes.grading import public_questions
from tests.plugins.quizzes.helpers import questions_data


def _stream(data: list[dict[str, Any]]) -> Any:
    return QuizQuestionsBlock().to_python(data)


def _errors(data: list[dict[str, Any]]) -> str:
    block = QuizQuestionsBlock()
    with pytest.raises(ValidationError) as refused:
        block.clean(block.to_python(data))
    return str(refused.value.as_json_data() if hasattr(refused.value, "as_json_data") else refused.value)


def test_valid_questions_pass_validation() -> None:
    block = QuizQuestionsBlock()
    assert len(block.clean(_stream(questions_data()))) == 4


def test_single_choice_needs_exactly_one_correct_choice() -> None:
    data = questions_data()
    data[0]["value"]["choices"][1]["value"]["correct"] = True
    assert "Mark exactly one choice as correct." in _errors(data)


def test_multiple_choice_needs_a_correct_choice() -> None:
    data = questions_data()
    for choice in data[1]["value"]["choices"]:
        choice["value"]["correct"] = False
    assert "Mark at least one choice as correct." in _errors(data)


def test_a_quiz_needs_a_question() -> None:
    with pytest.raises(ValidationError):
        QuizQuestionsBlock().clean(_stream([]))


def test_public_questions_hold_prompts_and_choices_only() -> None:
    public = public_questions(_stream(questions_data()))
    assert public == [
        {"id": "q-single", "kind": "single_choice", "prompt_html": "<p>Which city is the capital of France?</p>",
         "points": 1, "choices": [{"id": "c-paris", "text": "Paris"}, {"id": "c-lyon", "text": "Lyon"}]},
        {"id": "q-multi", "kind": "multiple_choice", "prompt_html": "<p>Which numbers are prime?</p>", "points": 1,
         "choices": [{"id": "c-two", "text": "Two"}, {"id": "c-three", "text": "Three"}, {"id": "c-four", "text": "Four"}]},
        {"id": "q-short", "kind": "short_answer", "prompt_html": "<p>Type the secret word.</p>", "points": 1,
         "choices": []},
        {"id": "q-number", "kind": "number", "prompt_html": "<p>How much is 42 and one eighth?</p>", "points": 1,
         "choices": []},
    ]
