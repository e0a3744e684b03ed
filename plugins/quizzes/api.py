"""The quizzes API under ``/api/v1/p/quizzes/``: what a mobile app needs to take a quiz.

Read a quiz (``GET <quiz id>/``), start an attempt (``POST <quiz id>/attempts/``), read it with
its questions (``GET attempts/<id>/``), save answers as the learner goes (``PUT
attempts/<id>/answers/``) and submit them for grading (``POST attempts/<id>/submit/``): the
same services as the quiz page (``plugins.quizzes.services``), so the same rules, limits and
errors, in the API's one JSON error shape. Questions are the public view only
(``grading.public_questions``) until the attempt is submitted; then its graded results.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from academy.sdk import (
    AbsoluteUrlField,
    ApiView,
    CoursePage,
    InputSerializer,
    LessonNotAvailable,
    LessonNotOpen,
    LessonRestricted,
    Viewer,
    Visibility,
    is_active,
    lesson_access,
    viewer,
)
from plugins.quizzes import services
from plugins.quizzes.grading import public_questions
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from plugins.quizzes.selectors import quiz_state


def _viewer(request: Request) -> Viewer:
    """The caller for the access policy: a token caller has no browser session (password
    restrictions passed in a browser do not count for it)."""
    session = None if request.auth is not None else getattr(request._request, "session", None)
    return viewer(request.user, session)


def _session(request: Request) -> Any:
    return _viewer(request).session


# --- Serializers ----------------------------------------------------------------------------------


class PublicChoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()


class PublicQuestionSerializer(serializers.Serializer):
    """A question before submission: nothing that tells the answer. ``kind`` is
    ``single_choice`` (answer: a choice id), ``multiple_choice`` (a list of choice ids),
    ``short_answer`` (a string) or ``number`` (a number or a string like "3.5"); kinds may be
    added."""

    id = serializers.CharField()
    kind = serializers.CharField()
    prompt_html = serializers.CharField()
    points = serializers.IntegerField()
    choices = PublicChoiceSerializer(many=True)


class QuestionResultSerializer(serializers.Serializer):
    """How one answer was graded."""

    id = serializers.CharField()
    kind = serializers.CharField()
    prompt = serializers.CharField()
    points = serializers.IntegerField()
    earned = serializers.IntegerField()
    correct = serializers.BooleanField()
    answer = serializers.CharField()
    feedback = serializers.ListField(child=serializers.CharField())


class QuizSerializer(serializers.Serializer):
    """A quiz lesson and where the caller stands with it."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    url = AbsoluteUrlField()
    course_id = serializers.IntegerField()
    pass_mark = serializers.IntegerField(help_text="Percent of the points needed to pass.")
    attempt_limit = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    time_limit_minutes = serializers.IntegerField(allow_null=True, help_text="Null: no time limit.")
    attempts_used = serializers.IntegerField()
    attempts_left = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    open_attempt_id = serializers.IntegerField(allow_null=True)
    can_start = serializers.BooleanField(help_text="Whether POST .../attempts/ would start one now.")
    passed = serializers.BooleanField()
    best_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)


class AttemptSerializer(serializers.Serializer):
    """One attempt. ``questions`` and the saved ``answers`` while it is open; ``results``, the
    score and ``passed`` once submitted. ``status`` is ``open``, ``expired`` (the time limit
    passed before a submission) or ``submitted``."""

    id = serializers.IntegerField()
    quiz_id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["open", "expired", "submitted"])
    started_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    pass_mark = serializers.IntegerField()
    questions = PublicQuestionSerializer(many=True)
    answers = serializers.DictField(
        help_text="Question id -> the answer saved (open) or graded (submitted)."
    )
    score = serializers.IntegerField(allow_null=True)
    max_score = serializers.IntegerField(allow_null=True)
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)
    passed = serializers.BooleanField()
    results = QuestionResultSerializer(many=True)


class QuizCourseProgressSerializer(serializers.Serializer):
    """The course progress after a passing submission completed the quiz lesson."""

    course_id = serializers.IntegerField()
    completed_lessons = serializers.IntegerField()
    total_lessons = serializers.IntegerField()
    percent = serializers.IntegerField()
    course_completed = serializers.BooleanField()


class SubmitResultSerializer(AttemptSerializer):
    progress = QuizCourseProgressSerializer(allow_null=True)


class AnswersSerializer(InputSerializer):
    """``{"answers": {"<question id>": <answer>}}``: a choice id, a list of choice ids, a string or
    a number, by the question's kind; null (or an empty string or list) leaves it unanswered."""

    answers = serializers.DictField(child=serializers.JSONField(allow_null=True), allow_empty=True)


def _attempt_data(attempt: QuizAttempt) -> dict[str, Any]:
    now = timezone.now()
    status = "submitted" if attempt.submitted else ("expired" if attempt.expired_at(now) else "open")
    return {
        "id": attempt.pk, "quiz_id": attempt.quiz_id, "number": attempt.number, "status": status,
        "started_at": attempt.started_at, "deadline": attempt.deadline, "submitted_at": attempt.submitted_at,
        "pass_mark": attempt.pass_mark,
        "questions": public_questions(attempt.question_stream()) if status == "open" else [],
        "answers": attempt.answers or {},
        "score": attempt.score, "max_score": attempt.max_score, "percent": attempt.percent,
        "passed": attempt.passed, "results": attempt.results if attempt.submitted else [],
    }


def _answers(request: Request) -> dict[str, Any]:
    body = AnswersSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data["answers"])


def _refusing(exc: services.InvalidAnswers) -> serializers.ValidationError:
    """Answers that do not fit: 400 ``invalid`` with each question's problem under ``answers``."""
    return serializers.ValidationError({"answers": {key or "answers": [message] for key, message in exc.errors.items()}})


# --- Views ----------------------------------------------------------------------------------------


class QuizDetailView(ApiView):

    @extend_schema(operation_id="quizzes_retrieve", responses=QuizSerializer)
    def get(self, request: Request, quiz_id: int) -> Response:
        """A quiz lesson: its rules and the caller's attempts so far. 404: no such published quiz
        (or quizzes are off for its course); 403: a view restriction keeps the caller out, or
        ``lesson_not_open`` (with ``opens_at``, null while it waits for ``after_lesson_id``'s
        completion) before the quiz opens to the enrolled caller, as ``lessons/{id}/``."""
        quiz = QuizLessonPage.objects.live().filter(pk=quiz_id).first()
        course_id = (
            CoursePage.objects.live().filter(path=quiz.path[: -quiz.steplen]).values_list("pk", flat=True).first()
            if quiz is not None else None
        )
        if quiz is None or course_id is None or not is_active("quizzes", course_id=course_id):
            raise LessonNotAvailable()
        found = lesson_access(_viewer(request), quiz, course_id=course_id)
        if found.visibility is Visibility.NOT_PUBLISHED:
            raise LessonNotAvailable()
        if not found.visible:
            raise LessonRestricted()
        if found.not_open is not None:  # as core's lesson endpoints: 403 lesson_not_open, with when it opens
            raise LessonNotOpen(found.not_open)
        state = quiz_state(quiz=quiz, user=request.user)
        percents = [attempt.percent for attempt in state.attempts if attempt.percent is not None]
        return Response(QuizSerializer({
            "id": quiz.pk, "title": quiz.title, "url": quiz.get_url(request._request) or "", "course_id": course_id,
            "pass_mark": quiz.pass_mark, "attempt_limit": quiz.attempt_limit,
            "time_limit_minutes": quiz.time_limit_minutes or None, "attempts_used": len(state.attempts),
            "attempts_left": state.attempts_left,
            "open_attempt_id": state.open_attempt.pk if state.open_attempt else None,
            "can_start": found.can_record_progress and state.can_start, "passed": state.passed,
            "best_percent": max(percents) if percents else None,
        }, context={"request": request}).data)


class AttemptStartView(ApiView):

    @extend_schema(operation_id="quizzes_attempts_create", request=None,
                   responses={200: AttemptSerializer, 201: AttemptSerializer})
    def post(self, request: Request, quiz_id: int) -> Response:
        """Start an attempt (201), or get the open one back (200). 403 ``not_enrolled``, or
        ``lesson_not_open`` (with ``opens_at``) before the quiz opens to the caller; 409
        ``attempt_limit_reached`` when every allowed attempt was used."""
        result = services.quiz_attempt_start(
            user=request.user, quiz=quiz_id, session=_session(request)
        )
        return Response(AttemptSerializer(_attempt_data(result.attempt)).data, status=201 if result.created else 200)


class AttemptDetailView(ApiView):

    @extend_schema(operation_id="quizzes_attempts_retrieve", responses=AttemptSerializer)
    def get(self, request: Request, attempt_id: int) -> Response:
        """One of the caller's attempts (404 for anyone else's)."""
        attempt = QuizAttempt.objects.filter(
            pk=attempt_id, user_id=request.user.pk
        ).first()
        if attempt is None:
            raise services.AttemptNotFound()
        return Response(AttemptSerializer(_attempt_data(attempt)).data)


class AttemptAnswersView(ApiView):

    @extend_schema(operation_id="quizzes_attempts_answers_update", request=AnswersSerializer,
                   responses=AttemptSerializer)
    def put(self, request: Request, attempt_id: int) -> Response:
        """Save the answers given so far (they replace the saved ones; unanswered questions may be
        left out). 400 for an answer that does not fit its question; 403 ``lesson_not_open`` while
        the quiz is not open to the caller; 409 once submitted or past the time limit."""
        answers = _answers(request)
        try:
            attempt = services.quiz_attempt_save_answers(
                user=request.user, attempt=attempt_id, answers=answers,
                session=_session(request),
            )
        except services.InvalidAnswers as exc:
            raise _refusing(exc) from exc
        return Response(AttemptSerializer(_attempt_data(attempt)).data)


class AttemptSubmitView(ApiView):

    @extend_schema(operation_id="quizzes_attempts_submit", request=AnswersSerializer,
                   responses=SubmitResultSerializer)
    def post(self, request: Request, attempt_id: int) -> Response:
        """Submit every answer for grading: the graded attempt, and the course progress when it
        passed (the quiz lesson is then complete). 400 when a question is unanswered or an
        answer does not fit; 403 ``lesson_not_open`` while the quiz is not open to the caller;
        409 ``attempt_already_submitted`` / ``attempt_expired``."""
        answers = _answers(request)
        try:
            result = services.quiz_attempt_submit(
                user=request.user, attempt=attempt_id, answers=answers,
                session=_session(request),
            )
        except services.InvalidAnswers as exc:
            raise _refusing(exc) from exc
        data = _attempt_data(result.attempt)
        progress = result.progress
        data["progress"] = None if progress is None else {
            "course_id": progress.progress.course_id, "completed_lessons": progress.completed_lessons,
            "total_lessons": progress.total_lessons, "percent": progress.percent,
            "course_completed": progress.course_completed,
        }
        return Response(SubmitResultSerializer(data).data)


__all__ = ["AttemptAnswersView", "AttemptDetailView", "AttemptStartView", "AttemptSubmitView", "QuizDetailView"]

urlpatterns = [
    # "id": the API's path converter (learning.api.urls): ids past bigint are a 404, not a 500.
    path("<id:quiz_id>/", QuizDetailView.as_view(), name="quiz"),
    path("<id:quiz_id>/attempts/", AttemptStartView.as_view(), name="attempt-start"),
    path("attempts/<id:attempt_id>/", AttemptDetailView.as_view(), name="attempt"),
    path("attempts/<id:attempt_id>/answers/", AttemptAnswersView.as_view(), name="attempt-answers"),
    path("attempts/<id:attempt_id>/submit/", AttemptSubmitView.as_view(), name="attempt-submit"),
]
