"""The questions of a quiz: StreamField blocks of the quiz page's own ``questions`` field.

Four kinds, each with a prompt, points and feedback per answer:

- ``single_choice``: choices, exactly one correct; each choice has its own feedback;
- ``multiple_choice``: choices, at least one correct; right when exactly the correct ones are
  chosen (all or nothing); each chosen choice shows its feedback;
- ``short_answer``: accepted answers compared after normalisation (see ``grading.normalise``);
- ``number``: a value and a tolerance (right when ``|given - value| <= tolerance``).

Every question and every choice has a stable id (Wagtail's block ids), which is what forms send.
These blocks belong to this plugin's page type only; core's blocks are untouched.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from wagtail import blocks

PROMPT_FEATURES = ["bold", "italic", "code", "link"]
CHOICE_TEXT_MAX = 300
FEEDBACK_MAX = 1000
ACCEPTED_ANSWER_MAX = 200
MAX_CHOICES = 20
MAX_POINTS = 100
NUMBER_MAX_DIGITS = 20
NUMBER_DECIMAL_PLACES = 6


class AnswerChoiceBlock(blocks.StructBlock):
    """One choice of a choice question: its text, whether it is correct, the feedback it gives."""

    text = blocks.CharBlock(max_length=CHOICE_TEXT_MAX)
    correct = blocks.BooleanBlock(required=False)
    feedback = blocks.CharBlock(
        max_length=FEEDBACK_MAX, required=False, help_text="Shown after submitting to learners who chose it."
    )

    class Meta:
        icon = "tick"
        label = "Choice"


class QuestionBlock(blocks.StructBlock):
    """What every question has: a prompt and its points."""

    prompt = blocks.RichTextBlock(features=PROMPT_FEATURES)
    points = blocks.IntegerBlock(default=1, min_value=1, max_value=MAX_POINTS)


class _ChoiceQuestion(QuestionBlock):
    choices = blocks.ListBlock(AnswerChoiceBlock(), min_num=2, max_num=MAX_CHOICES)

    def _correct_count(self, value: Any) -> int:
        return sum(1 for choice in value["choices"] if choice["correct"])


class SingleChoiceQuestionBlock(_ChoiceQuestion):
    """One right choice among several."""

    def clean(self, value: Any) -> Any:
        """Exactly one choice is correct."""
        value = super().clean(value)
        if self._correct_count(value) != 1:
            raise blocks.StructBlockValidationError(
                block_errors={"choices": ValidationError("Mark exactly one choice as correct.")}
            )
        return value

    class Meta:
        icon = "radio-full"
        label = "Single choice"


class MultipleChoiceQuestionBlock(_ChoiceQuestion):
    """Several right choices; learners must choose exactly those."""

    def clean(self, value: Any) -> Any:
        """At least one choice is correct."""
        value = super().clean(value)
        if self._correct_count(value) < 1:
            raise blocks.StructBlockValidationError(
                block_errors={"choices": ValidationError("Mark at least one choice as correct.")}
            )
        return value

    class Meta:
        icon = "list-ul"
        label = "Multiple choice"


class ShortAnswerQuestionBlock(QuestionBlock):
    """A typed answer compared with the accepted answers after normalisation."""

    accepted_answers = blocks.ListBlock(
        blocks.CharBlock(max_length=ACCEPTED_ANSWER_MAX), min_num=1,
        help_text="Compared ignoring surrounding and repeated spaces and Unicode width forms.",
    )
    case_sensitive = blocks.BooleanBlock(required=False, help_text="Leave off to ignore upper and lower case.")
    feedback_correct = blocks.CharBlock(max_length=FEEDBACK_MAX, required=False)
    feedback_incorrect = blocks.CharBlock(max_length=FEEDBACK_MAX, required=False)

    class Meta:
        icon = "pilcrow"
        label = "Short answer"


class NumberQuestionBlock(QuestionBlock):
    """A number, right within a tolerance."""

    answer = blocks.DecimalBlock(max_digits=NUMBER_MAX_DIGITS, decimal_places=NUMBER_DECIMAL_PLACES)
    tolerance = blocks.DecimalBlock(
        max_digits=NUMBER_MAX_DIGITS, decimal_places=NUMBER_DECIMAL_PLACES, min_value=Decimal("0"),
        default=Decimal("0"), help_text="Answers this far from the value (either way) are right too.",
    )
    feedback_correct = blocks.CharBlock(max_length=FEEDBACK_MAX, required=False)
    feedback_incorrect = blocks.CharBlock(max_length=FEEDBACK_MAX, required=False)

    class Meta:
        icon = "order"
        label = "Number"


class QuizQuestionsBlock(blocks.StreamBlock):
    """The questions of a quiz, in order."""

    single_choice = SingleChoiceQuestionBlock()
    multiple_choice = MultipleChoiceQuestionBlock()
    short_answer = ShortAnswerQuestionBlock()
    number = NumberQuestionBlock()

    class Meta:
        min_num = 1
