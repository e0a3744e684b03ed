"""The only code that writes quiz attempts: start one, submit one.

Both follow ``learning.services``: keyword-only arguments, one transaction, typed errors that
carry their HTTP status (``learning.services.ServiceError``), nothing written when one is raised,
events after commit. Who may take a quiz is the access policy's answer for its lesson (published,
view restrictions, an enrollment that opens the course) and the plugin must be active for the
course.

Concurrency: both services lock the learner's enrollment row first (the row
``lesson_progress_record`` locks too, so the order is always enrollment, then attempt), so two
starts cannot both see "one attempt left", and two submissions of one attempt cannot both grade
it. The unique ``(quiz, user, number)`` constraint backs the limit up: a start that still collides
is refused (409), never a second attempt with the same number.

Every submission reports the learner's grade to the gradebook (``grade_record``, in the same
transaction): the best submitted attempt counts, so a retry that scores lower never lowers it
(and its lateness is the best attempt's).

A passing submission completes the lesson through ``lesson_progress_record`` in the same
transaction (its completion gate sees the new passing attempt), so either both the graded
attempt and the completion are written, or neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from academy.sdk import (
    Conflict,
    CoursePage,
    Enrollment,
    Forbidden,
    InvalidInput,
    LessonNotAvailable,
    LessonRestricted,
    NotEnrolled,
    NotFound,
    ProgressResult,
    Visibility,
    grade_record,
    has_access_status,
    is_active,
    lesson_progress_record,
    lesson_require_open,
    page_visibility,
    viewer,
)
from plugins.quizzes import events
from plugins.quizzes.events import AttemptGradedPayload
from plugins.quizzes.grading import AnswersInvalid, grade, parse_answers, parse_partial_answers
from plugins.quizzes.models import QuizAttempt, QuizLessonPage

PLUGIN = "quizzes"


class AttemptLimitReached(Conflict):
    """Every attempt the quiz allows was used (409)."""

    default_message = "You have used every attempt this quiz allows."


class AttemptNotFound(NotFound):
    """No such attempt, or not the user's (404)."""

    default_message = "This quiz attempt does not exist."


class AttemptAlreadySubmitted(Conflict):
    """The attempt was submitted before: a replayed or repeated submission (409)."""

    default_message = "This attempt was already submitted; start a new attempt to try again."


class AttemptExpired(Conflict):
    """The attempt's time limit has passed (409)."""

    default_message = "The time limit of this attempt has passed; its answers cannot be submitted."


class InvalidAnswers(InvalidInput):
    """Missing or malformed answers (400); ``errors`` maps question ids to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(" ".join(errors.values()))


@dataclass(frozen=True)
class StartResult:
    """The attempt to answer; ``created`` is False when an open one was returned."""

    attempt: QuizAttempt
    created: bool


@dataclass(frozen=True)
class SubmitResult:
    """The graded attempt, and the course progress when it passed (else None)."""

    attempt: QuizAttempt
    progress: ProgressResult | None


def _require_user(user: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Forbidden("Log in to take this quiz.")


def _valid_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise AttemptNotFound()
    return value


def _takeable(user: Any, quiz_id: Any, session: Mapping[str, Any] | None) -> tuple[QuizLessonPage, int]:
    """The live quiz and its live course's id, once the access policy and the plugin's activation
    let ``user`` take it; the enrollment row is locked (see the module docstring)."""
    quiz_id = getattr(quiz_id, "pk", quiz_id)
    if not isinstance(quiz_id, int) or isinstance(quiz_id, bool):
        raise LessonNotAvailable()
    quiz = QuizLessonPage.objects.live().filter(pk=quiz_id).first()
    if quiz is None:
        raise LessonNotAvailable()
    course_id = (
        CoursePage.objects.live().filter(path=quiz.path[: -quiz.steplen]).values_list("pk", flat=True).first()
    )
    if course_id is None or not is_active(PLUGIN, course_id=course_id):
        raise LessonNotAvailable()
    visibility = page_visibility(viewer(user, session), quiz)
    if visibility is Visibility.NOT_PUBLISHED:
        raise LessonNotAvailable()
    if not visibility.visible:
        raise LessonRestricted()
    enrollment = Enrollment.objects.select_for_update().filter(user_id=user.pk, course_id=course_id).first()
    if enrollment is None or not has_access_status(enrollment.status):
        if enrollment is not None and enrollment.status == Enrollment.Status.PENDING_APPROVAL:
            raise NotEnrolled("Your enrollment is waiting for approval.")
        raise NotEnrolled("Enroll in this course to take the quiz.")
    # Drip release: a quiz that is not yet open to the learner cannot be taken (LessonNotOpen, 403).
    lesson_require_open(user=user, lesson=quiz, session=session)
    return quiz, course_id


def quiz_attempt_start(
    *, user: Any, quiz: QuizLessonPage | int, session: Mapping[str, Any] | None = None
) -> StartResult:
    """Start an attempt at a published quiz for an enrolled learner, or return the open one.

    The attempt keeps the quiz's questions and pass mark as they are now, and a deadline when the
    quiz has a time limit. Raises ``LessonNotAvailable`` (404: missing, unpublished, or the plugin
    off for the course), ``LessonRestricted`` / ``NotEnrolled`` / ``LessonNotOpen`` (403) and ``AttemptLimitReached``
    (409) when every allowed attempt was used (expired attempts count).
    """
    _require_user(user)
    with transaction.atomic():
        live, course_id = _takeable(user, quiz, session)
        now = timezone.now()
        attempts = QuizAttempt.objects.filter(quiz_id=live.pk, user_id=user.pk)
        open_attempt = next(
            (
                attempt
                for attempt in attempts.filter(submitted_at__isnull=True).order_by("-number")
                if not attempt.expired_at(now)
            ),
            None,
        )
        if open_attempt is not None:
            return StartResult(attempt=open_attempt, created=False)
        used = attempts.aggregate(last=Max("number"))["last"] or 0
        if live.attempt_limit is not None and used >= live.attempt_limit:
            raise AttemptLimitReached(f"You have used all {live.attempt_limit} attempt(s) this quiz allows.")
        minutes = live.time_limit_minutes
        attempt = QuizAttempt(
            quiz=live, user_id=user.pk, course_id=course_id, number=used + 1, started_at=now,
            deadline=now + timedelta(minutes=minutes) if minutes else None,
            questions=live.questions.get_prep_value(), pass_mark=live.pass_mark,
        )
        try:
            with transaction.atomic():
                attempt.save(force_insert=True)
        except IntegrityError as exc:
            raise AttemptLimitReached("Another attempt was started at the same moment; reload the quiz.") from exc
    return StartResult(attempt=attempt, created=True)


def quiz_attempt_save_answers(
    *, user: Any, attempt: QuizAttempt | int, answers: Mapping[str, Any], session: Mapping[str, Any] | None = None
) -> QuizAttempt:
    """Keep the answers given so far on the learner's open attempt (an app saves as the learner
    goes, and resumes on another device); they replace the ones saved before. Unanswered
    questions may be left out; what is given must fit its question (``InvalidAnswers``, 400).
    Grading happens only on :func:`quiz_attempt_submit`. Raises ``AttemptNotFound`` (404),
    ``AttemptAlreadySubmitted`` / ``AttemptExpired`` (409) and the errors of
    ``quiz_attempt_start`` for a quiz that can no longer be taken. Nothing is written when it
    raises."""
    _require_user(user)
    attempt_id = _valid_id(getattr(attempt, "pk", attempt))
    with transaction.atomic():
        found = QuizAttempt.objects.filter(pk=attempt_id, user_id=user.pk).values_list("quiz_id", flat=True).first()
        if found is None:
            raise AttemptNotFound()
        _takeable(user, found, session)
        locked = QuizAttempt.objects.select_for_update().get(pk=attempt_id)
        if locked.submitted:
            raise AttemptAlreadySubmitted()
        if locked.expired_at(timezone.now()):
            raise AttemptExpired()
        try:
            locked.answers = parse_partial_answers(locked.question_stream(), answers)
        except AnswersInvalid as exc:
            raise InvalidAnswers(exc.errors) from exc
        locked.save(update_fields=["answers"])
    return locked


def quiz_attempt_submit(
    *, user: Any, attempt: QuizAttempt | int, answers: Mapping[str, Any], session: Mapping[str, Any] | None = None
) -> SubmitResult:
    """Grade the learner's open attempt against the questions it started with.

    Every question must be answered once in its kind's shape (``grading.parse_answers``). A
    passing attempt completes the lesson through ``lesson_progress_record`` in this transaction
    (so ``lesson_completed`` / ``course_completed`` follow after commit); ``quizzes_attempt_graded``
    is sent after commit. Raises ``AttemptNotFound`` (404: unknown or someone else's),
    ``AttemptAlreadySubmitted`` (409: a replay), ``AttemptExpired`` (409: past the time limit),
    ``InvalidAnswers`` (400), and the errors of ``quiz_attempt_start`` for a quiz that can no
    longer be taken. Nothing is written when it raises.
    """
    _require_user(user)
    attempt_id = _valid_id(getattr(attempt, "pk", attempt))
    with transaction.atomic():
        found = QuizAttempt.objects.filter(pk=attempt_id, user_id=user.pk).values_list("quiz_id", flat=True).first()
        if found is None:
            raise AttemptNotFound()
        quiz, course_id = _takeable(user, found, session)
        locked = QuizAttempt.objects.select_for_update().get(pk=attempt_id)
        if locked.submitted:
            raise AttemptAlreadySubmitted()
        now = timezone.now()
        if locked.expired_at(now):
            raise AttemptExpired()
        questions = locked.question_stream()
        try:
            parsed = parse_answers(questions, answers)
        except AnswersInvalid as exc:
            raise InvalidAnswers(exc.errors) from exc
        outcome = grade(questions, parsed)
        locked.answers = parsed
        locked.results = outcome.results
        locked.score, locked.max_score, locked.percent = outcome.score, outcome.max_score, outcome.percent
        locked.passed = outcome.passes(locked.pass_mark)
        locked.submitted_at = now
        locked.save(update_fields=["answers", "results", "score", "max_score", "percent", "passed", "submitted_at"])
        best = (
            QuizAttempt.objects.filter(quiz_id=quiz.pk, user_id=user.pk, submitted_at__isnull=False)
            .order_by("-percent", "submitted_at", "number")
            .only("percent", "submitted_at")
            .first()
        )
        if best is not None and best.percent is not None:
            grade_record(user=user, lesson=quiz, score=best.percent, submitted_at=best.submitted_at)
        progress = (
            lesson_progress_record(user=user, lesson=quiz.pk, completed=True, session=session)
            if locked.passed
            else None
        )
        events.attempt_graded.emit(
            AttemptGradedPayload(
                attempt_id=locked.pk, quiz_id=quiz.pk, course_id=course_id, user_id=user.pk,
                number=locked.number, score=outcome.score, max_score=outcome.max_score, passed=locked.passed,
            )
        )
    return SubmitResult(attempt=locked, progress=progress)
