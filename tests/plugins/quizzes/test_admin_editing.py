"""Editors write a quiz in the Wagtail admin: the page form with its questions, and validation."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import LESSON_DATE_DEFAULTS, Tree, logged_in

pytestmark = pytest.mark.django_db


def _choices(*choices: tuple[str, bool, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"count": len(choices)}
    for index, (text, correct, feedback) in enumerate(choices):
        value = {"text": text, "feedback": feedback, **({"correct": "on"} if correct else {})}
        data[str(index)] = {"value": value, "deleted": "", "order": str(index), "id": f"choice-{index}"}
    return data


def _form(questions: list[tuple[str, Any]], *, pass_mark: str = "60") -> dict[str, Any]:
    data = nested_form_data({
        "title": "Admin quiz", "slug": "admin-quiz", "summary": "", "estimated_minutes": "5",
        "body": streamfield([]), "pass_mark": pass_mark, "attempt_limit": "3", "time_limit_minutes": "",
        "questions": streamfield(questions), "comments": inline_formset([]),
        **LESSON_DATE_DEFAULTS,
    })
    data["action-publish"] = "action-publish"
    return data


def _single(*choices: tuple[str, bool, str]) -> tuple[str, Any]:
    return ("single_choice", {"prompt": rich_text("<p>Pick one</p>"), "points": "2", "choices": _choices(*choices)})


def test_an_editor_creates_and_publishes_a_quiz(tree: Tree) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    client = logged_in(admin)
    url = reverse("wagtailadmin_pages:add", args=("quizzes", "quizlessonpage", tree.python.pk))
    assert client.get(url).status_code == 200
    response = client.post(url, _form([_single(("Yes", True, "Right"), ("No", False, "Wrong"))]))
    assert response.status_code == 302
    quiz = QuizLessonPage.objects.get(slug="admin-quiz")
    assert (quiz.live, quiz.pass_mark, quiz.attempt_limit, quiz.time_limit_minutes) == (True, 60, 3, None)
    (question,) = list(quiz.questions)
    assert question.block_type == "single_choice"
    assert [(c["text"], c["correct"], c["feedback"]) for c in question.value["choices"]] == [
        ("Yes", True, "Right"), ("No", False, "Wrong"),
    ]


def test_a_single_choice_question_with_two_right_answers_is_refused(tree: Tree) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")
    url = reverse("wagtailadmin_pages:add", args=("quizzes", "quizlessonpage", tree.python.pk))
    response = logged_in(admin).post(url, _form([_single(("Yes", True, ""), ("Also yes", True, ""))]))
    assert response.status_code == 200
    assert "Mark exactly one choice as correct." in response.content.decode()
    assert not QuizLessonPage.objects.exists()
