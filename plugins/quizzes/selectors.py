"""Reads of quizzes for pages: a learner's attempts at one quiz, in one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from plugins.quizzes.grading import PublicQuestion, public_questions
from plugins.quizzes.models import QuizAttempt, QuizLessonPage


@dataclass(frozen=True)
class QuizState:
    """What the quiz page shows a visitor: their attempts, the open one, what is left."""

    attempts: list[QuizAttempt] = field(default_factory=list)
    open_attempt: QuizAttempt | None = None
    questions: list[PublicQuestion] = field(default_factory=list)
    last_submitted: QuizAttempt | None = None
    attempts_left: int | None = None
    passed: bool = False
    now: datetime | None = None

    @property
    def can_start(self) -> bool:
        """Whether the page offers a new attempt: none open, not passed yet (a pass is done: the
        quiz is complete and its best score is the grade), attempts left."""
        return (
            self.open_attempt is None and not self.passed
            and (self.attempts_left is None or self.attempts_left > 0)
        )

    @property
    def best(self) -> QuizAttempt | None:
        """The best submitted attempt (the one that is the learner's grade), earliest on a tie."""
        submitted = [attempt for attempt in self.attempts if attempt.submitted and attempt.percent is not None]
        return max(submitted, key=lambda attempt: (attempt.percent, -attempt.number), default=None)

    @property
    def submitted_attempts(self) -> list[QuizAttempt]:
        """The graded attempts, newest first."""
        return [attempt for attempt in reversed(self.attempts) if attempt.submitted]


def quiz_state(*, quiz: QuizLessonPage, user: Any) -> QuizState:
    """``user``'s attempts at ``quiz`` and what follows from them. One query; none for anonymous
    visitors. The open attempt's questions are the public view only (no answers)."""
    limit = quiz.attempt_limit
    if not getattr(user, "is_authenticated", False):
        return QuizState(attempts_left=limit)
    now = timezone.now()
    attempts = list(QuizAttempt.objects.filter(quiz_id=quiz.pk, user_id=user.pk).order_by("number"))
    open_attempt = next(
        (attempt for attempt in attempts if not attempt.submitted and not attempt.expired_at(now)), None
    )
    submitted = [attempt for attempt in attempts if attempt.submitted]
    return QuizState(
        attempts=attempts,
        open_attempt=open_attempt,
        questions=public_questions(open_attempt.question_stream()) if open_attempt else [],
        last_submitted=submitted[-1] if submitted else None,
        attempts_left=None if limit is None else max(limit - len(attempts), 0),
        passed=any(attempt.passed for attempt in attempts),
        now=now,
    )
