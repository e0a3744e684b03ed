"""The quizzes plugin's own domain event (definitions only)."""

from __future__ import annotations

from typing import TypedDict

from academy.sdk import Event


class AttemptGradedPayload(TypedDict):
    """quizzes_attempt_graded: a learner submitted an attempt and it was graded."""

    attempt_id: int
    quiz_id: int
    course_id: int
    user_id: int
    number: int
    score: int
    max_score: int
    passed: bool


attempt_graded = Event("quizzes_attempt_graded", AttemptGradedPayload)
