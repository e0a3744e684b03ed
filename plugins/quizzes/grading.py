"""Reading learners' answers and grading them: pure functions over a quiz's questions.

``questions`` is always the StreamValue an attempt was started with (``QuizAttempt.questions``
bound to :class:`~plugins.quizzes.blocks.QuizQuestionsBlock`), so an edit of the quiz after an
attempt started changes neither the form the learner answers nor how it is graded.

:func:`public_questions` is the only view of the questions that may reach a browser before a
submission: prompts, points and choice texts, never which choice is correct, the accepted
answers, the value of a number question or any feedback.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, TypedDict

from django.utils.html import strip_tags

#: The longest text answer (and number) accepted, in characters.
TEXT_ANSWER_MAX = 500
NUMBER_ANSWER_MAX = 40
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_PERCENT_STEP = Decimal("0.01")

SINGLE, MULTIPLE, SHORT, NUMBER = "single_choice", "multiple_choice", "short_answer", "number"
KINDS = (SINGLE, MULTIPLE, SHORT, NUMBER)


class PublicChoice(TypedDict):
    """A choice as learners see it before submitting."""

    id: str
    text: str


class PublicQuestion(TypedDict):
    """A question as learners see it before submitting: nothing that tells the answer."""

    id: str
    kind: str
    prompt_html: str
    points: int
    choices: list[PublicChoice]


class QuestionResult(TypedDict):
    """How one answer was graded, kept on the attempt as it was at grading time."""

    id: str
    kind: str
    prompt: str
    points: int
    earned: int
    correct: bool
    answer: str
    feedback: list[str]


class AnswersInvalid(ValueError):
    """Some answers are missing or malformed; ``errors`` maps a question id (or ``""`` for the
    whole submission) to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True)
class Grade:
    """The outcome of grading one submission."""

    score: int
    max_score: int
    percent: Decimal
    results: list[QuestionResult] = field(default_factory=list)

    def passes(self, pass_mark: int) -> bool:
        """Whether the score reaches ``pass_mark`` percent (exact: no rounding lets anyone pass)."""
        return self.score * 100 >= pass_mark * self.max_score


def _choices(value: Any) -> list[tuple[str, Any]]:
    return [(child.id, child.value) for child in value["choices"].bound_blocks]


def public_questions(questions: Iterable[Any]) -> list[PublicQuestion]:
    """The questions as a learner may see them before submitting (see the module docstring)."""
    public: list[PublicQuestion] = []
    for block in questions:
        value = block.value
        choices = (
            [PublicChoice(id=choice_id, text=str(choice["text"])) for choice_id, choice in _choices(value)]
            if block.block_type in (SINGLE, MULTIPLE)
            else []
        )
        public.append(
            PublicQuestion(
                id=str(block.id), kind=block.block_type, prompt_html=str(value["prompt"]),
                points=int(value["points"]), choices=choices,
            )
        )
    return public


def normalise(text: str, *, case_sensitive: bool = False) -> str:
    """A short answer as compared: Unicode NFKC (full-width and compatibility forms folded),
    surrounding and repeated whitespace removed, and case folded unless ``case_sensitive``."""
    folded = " ".join(unicodedata.normalize("NFKC", text).split())
    return folded if case_sensitive else folded.casefold()


def parse_number(raw: Any) -> Decimal | None:
    """A finite number from a learner's answer ("3.5", "3,5", "-1e3", or a JSON number), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        raw = repr(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip().replace(" ", "")
    if len(text) > NUMBER_ANSWER_MAX or not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(raw: Any) -> str | None:
    """One string from a form value (a one-item list is a form's single value)."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    return raw if isinstance(raw, str) else None


def parse_answers(questions: Iterable[Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check a submission against ``questions``: every question answered once, in the shape its
    kind takes, nothing else. Returns ``{question id: answer}`` (a choice id, a sorted list of
    choice ids, a string, or a number as a string). Raises :class:`AnswersInvalid`."""
    return _parse(questions, raw, partial=False)


def parse_partial_answers(questions: Iterable[Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check answers saved before submitting: like :func:`parse_answers`, but a question left
    unanswered (absent, empty) is simply not in the result."""
    return _parse(questions, raw, partial=True)


def _parse(questions: Iterable[Any], raw: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise AnswersInvalid({"": "Answers must map question ids to answers."})
    blocks = {str(block.id): block for block in questions}
    errors: dict[str, str] = {}
    unknown = [key for key in raw if key not in blocks]
    if unknown:
        errors[""] = f"{len(unknown)} answer(s) are not for a question of this quiz."
    parsed: dict[str, Any] = {}
    for number, (question_id, block) in enumerate(blocks.items(), start=1):
        answer = raw.get(question_id)
        label = f"Question {number}"
        if answer is None or answer == "" or (isinstance(answer, list) and all(item == "" for item in answer)):
            if not partial:
                errors[question_id] = f"{label}: answer this question."
            continue
        kind, value = block.block_type, block.value
        if kind in (SINGLE, MULTIPLE):
            choice_ids = {choice_id for choice_id, _choice in _choices(value)}
            given = answer if isinstance(answer, list) else [answer]
            if not all(isinstance(item, str) for item in given) or len(given) != len(set(given)):
                errors[question_id] = f"{label}: choose from the choices given."
            elif kind == SINGLE and len(given) != 1:
                errors[question_id] = f"{label}: choose one answer."
            elif not set(given) <= choice_ids:
                errors[question_id] = f"{label}: that choice is not one of this question's."
            else:
                parsed[question_id] = given[0] if kind == SINGLE else sorted(given)
        elif kind == SHORT:
            text = _text(answer)
            if text is None or not text.strip():
                errors[question_id] = f"{label}: type an answer."
            elif len(text) > TEXT_ANSWER_MAX:
                errors[question_id] = f"{label}: at most {TEXT_ANSWER_MAX} characters."
            else:
                parsed[question_id] = text.strip()
        else:
            number_value = parse_number(_text(answer) if not isinstance(answer, int | float) else answer)
            if number_value is None:
                errors[question_id] = f"{label}: enter a number, like 42 or 3.5."
            else:
                parsed[question_id] = str(number_value)
    if errors:
        raise AnswersInvalid(errors)
    return parsed


def _grade_one(kind: str, value: Any, answer: Any) -> tuple[bool, str, list[str]]:
    """``(correct, the answer as shown, feedback lines)`` of one parsed answer."""
    if kind in (SINGLE, MULTIPLE):
        choices = _choices(value)
        chosen = {answer} if kind == SINGLE else set(answer)
        correct_ids = {choice_id for choice_id, choice in choices if choice["correct"]}
        picked = [choice for choice_id, choice in choices if choice_id in chosen]
        shown = ", ".join(str(choice["text"]) for choice in picked)
        return chosen == correct_ids, shown, [str(choice["feedback"]) for choice in picked if choice["feedback"]]
    if kind == SHORT:
        case_sensitive = bool(value["case_sensitive"])
        accepted = {normalise(str(text), case_sensitive=case_sensitive) for text in value["accepted_answers"]}
        correct = normalise(answer, case_sensitive=case_sensitive) in accepted
    else:
        given = Decimal(answer)
        correct = abs(given - Decimal(str(value["answer"]))) <= Decimal(str(value["tolerance"] or 0))
    feedback = value["feedback_correct"] if correct else value["feedback_incorrect"]
    return correct, str(answer), [str(feedback)] if feedback else []


def grade(questions: Iterable[Any], answers: Mapping[str, Any]) -> Grade:
    """Grade parsed ``answers`` (from :func:`parse_answers`): full points for a right answer,
    none otherwise; the results keep the prompt, the answer and its feedback as text."""
    results: list[QuestionResult] = []
    for block in questions:
        value, question_id = block.value, str(block.id)
        correct, shown, feedback = _grade_one(block.block_type, value, answers[question_id])
        points = int(value["points"])
        results.append(
            QuestionResult(
                id=question_id, kind=block.block_type, prompt=strip_tags(str(value["prompt"])).strip(),
                points=points, earned=points if correct else 0, correct=correct, answer=shown,
                feedback=feedback,
            )
        )
    score = sum(result["earned"] for result in results)
    max_score = sum(result["points"] for result in results)
    percent = (Decimal(score * 100) / Decimal(max_score)).quantize(_PERCENT_STEP, rounding=ROUND_DOWN) if max_score else Decimal("0.00")
    return Grade(score=score, max_score=max_score, percent=percent, results=results)
