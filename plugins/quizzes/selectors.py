"""Reads of quizzes: a learner's attempts at one quiz for its page, and staff's item analysis of a
quiz (per question: attempts, share right, the most chosen wrong answer), one query each."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.utils import timezone

from academy.sdk import format_percent
from plugins.quizzes.grading import SHORT, PublicQuestion, normalise, public_questions
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


@dataclass(frozen=True)
class QuestionAnalysis:
    """How one question of a quiz went: submitted attempts that answered it, how many were
    right, and the wrong answer given most often (with how often)."""

    id: str
    prompt: str
    kind: str
    attempts: int
    right: int
    top_wrong: str | None
    top_wrong_count: int

    @property
    def share_right(self) -> Decimal:
        """Percent of the attempts that got it right (two decimals, rounded down)."""
        if not self.attempts:
            return Decimal("0.00")
        return (Decimal(self.right * 100) / Decimal(self.attempts)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    @property
    def share_right_label(self) -> str:
        """The share as people read it ("66.66%", "100%")."""
        return format_percent(self.share_right)


def item_analysis(*, quiz: QuizLessonPage, attempts: Any = None) -> list[QuestionAnalysis]:
    """Per question of ``quiz``: submitted attempts, right answers, the most chosen wrong answer
    (short answers compared as graded: ``grading.normalise``; ties go to the answer seen first).
    Questions in the quiz's current order, then questions only past attempts had. ``attempts``
    is the queryset to read (staff pass the attempts they may see); one query whatever the number
    of attempts."""
    rows = (attempts if attempts is not None else QuizAttempt.objects.all()).filter(
        quiz_id=quiz.pk, submitted_at__isnull=False
    ).order_by("pk").values_list("results", flat=True)
    order = [str(block.id) for block in quiz.questions]
    seen: dict[str, dict[str, Any]] = {}
    for results in rows:
        for result in results or []:
            question_id = str(result.get("id", ""))
            stats = seen.setdefault(question_id, {
                "prompt": "", "kind": "", "attempts": 0, "right": 0, "wrong": Counter(),
            })
            stats["prompt"], stats["kind"] = str(result.get("prompt", "")), str(result.get("kind", ""))
            stats["attempts"] += 1
            if result.get("correct"):
                stats["right"] += 1
            else:
                answer = str(result.get("answer", ""))
                stats["wrong"][normalise(answer) if stats["kind"] == SHORT else answer] += 1
    ordered = [qid for qid in order if qid in seen] + [qid for qid in seen if qid not in order]
    analysis = []
    for question_id in ordered:
        stats = seen[question_id]
        top = stats["wrong"].most_common(1)
        analysis.append(QuestionAnalysis(
            id=question_id, prompt=stats["prompt"], kind=stats["kind"], attempts=stats["attempts"],
            right=stats["right"], top_wrong=top[0][0] if top else None, top_wrong_count=top[0][1] if top else 0,
        ))
    return analysis
