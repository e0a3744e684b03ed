"""The quiz page's form posts: start an attempt, submit it.

Thin, like ``learning.views``: parse the request, call one service, redirect back to the quiz
lesson (which shows the open attempt's form, or the last result) with a message. Bad input gets
a clear 4xx page (400 malformed answers, 403 not allowed, 404 missing or not yours, 405 wrong
method, 409 replayed, expired or over the attempt limit) and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from academy.sdk import ServiceError
from plugins.quizzes import services
from plugins.quizzes.models import QuizAttempt, QuizLessonPage

#: Form fields carrying answers are named ``q-<question id>``.
ANSWER_PREFIX = "q-"
FALLBACK_URL = "/dashboard/"
# Largest id the database stores (bigint); a longer number in a URL is a 404, not an overflow.
MAX_ID = 2**63 - 1


def _checked_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise Http404("No such quiz or attempt.")
    return value


def answers_from_form(data: Any) -> dict[str, list[str]]:
    """``{question id: [values]}`` from a form's ``q-<id>`` fields (other fields are ignored)."""
    return {key[len(ANSWER_PREFIX):]: data.getlist(key) for key in data if key.startswith(ANSWER_PREFIX)}


def _quiz_url(request: HttpRequest, quiz: QuizLessonPage | None) -> str:
    url = quiz.get_url(request) if quiz is not None else None
    return url or FALLBACK_URL


def _error(request: HttpRequest, exc: ServiceError, *, back: str | None = None) -> HttpResponse:
    context = {
        "status": exc.status_code, "message": exc.message, "back": back,
        "errors": list(getattr(exc, "errors", {}).values()),
    }
    return render(request, "quizzes/error.html", context, status=exc.status_code)


@require_POST
def start(request: HttpRequest, quiz_id: int) -> HttpResponse:
    """POST: start an attempt at quiz ``quiz_id`` (or go back to the open one)."""
    pk = _checked_id(quiz_id)
    quiz = QuizLessonPage.objects.live().filter(pk=pk).first()
    if not request.user.is_authenticated:
        return redirect_to_login(_quiz_url(request, quiz))
    try:
        result = services.quiz_attempt_start(user=request.user, quiz=pk, session=request.session)
    except ServiceError as exc:
        return _error(request, exc, back=_quiz_url(request, quiz) if quiz is not None else None)
    if not result.created:
        messages.info(request, "You already have an attempt in progress: here it is.")
    return redirect(f"{_quiz_url(request, result.attempt.quiz)}#quiz")


@require_POST
def submit(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """POST ``q-<question id>`` fields: submit attempt ``attempt_id`` for grading."""
    pk = _checked_id(attempt_id)
    if not request.user.is_authenticated:
        return redirect_to_login(FALLBACK_URL)
    try:
        result = services.quiz_attempt_submit(
            user=request.user, attempt=pk, answers=answers_from_form(request.POST), session=request.session
        )
    except ServiceError as exc:
        mine = QuizAttempt.objects.filter(pk=pk, user_id=request.user.pk).select_related("quiz").first()
        return _error(request, exc, back=_quiz_url(request, mine.quiz) if mine is not None else None)
    attempt = result.attempt
    if attempt.passed:
        messages.success(request, f"You passed with {attempt.percent_label}.")
    else:
        messages.info(request, f"You scored {attempt.percent_label}; the pass mark is {attempt.pass_mark}%.")
    return redirect(f"{_quiz_url(request, attempt.quiz)}#quiz-result")
