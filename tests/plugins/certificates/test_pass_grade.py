"""Certificates that require the course's pass grade: none on completion below it, issued when a
later grade or override makes the course grade pass; off by default."""

from __future__ import annotations

from typing import Any

import pytest
from django_q.brokers import Broker

from learning import services as learning_services
from learning.gradebook import grade_override
from plugins.certificates.models import Certificate, CourseCertificateSettings
from plugins.quizzes.services import quiz_attempt_start, quiz_attempt_submit
from tests.learning.staff_world import course_editor
from tests.plugins.quizzes.helpers import RIGHT, make_quiz
from tests.tasks.conftest import run_queued_tasks

pytestmark = pytest.mark.django_db

ISSUE_TASK = "plugins.certificates.tasks.issue_certificate"
THREE_OF_FOUR = {**RIGHT, "q-number": "1"}  # 75%: passes the quiz (pass mark 75)


def _complete_with_quiz(user: Any, course: Any, answers: dict[str, Any]) -> None:
    """Enroll ``user``, complete the core lessons, then pass the course's quiz with ``answers``."""
    learning_services.enrollment_request(user=user, course=course)
    quiz = None
    for lesson in course.get_children().live().specific():
        if getattr(lesson, "graded", False):
            quiz = lesson
            continue
        learning_services.lesson_progress_record(user=user, lesson=lesson, completed=True)
    assert quiz is not None
    attempt = quiz_attempt_start(user=user, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=user, attempt=attempt.pk, answers=answers)


@pytest.fixture
def graded_course(tree: Any) -> Any:
    """Python basics with a quiz, a pass grade of 90, and certificates that require it."""
    make_quiz(tree.python)
    type(tree.python).objects.filter(pk=tree.python.pk).update(pass_grade=90)
    CourseCertificateSettings.objects.create(course=tree.python, require_pass_grade=True)
    tree.python.refresh_from_db()
    return tree.python


def test_completion_below_the_pass_grade_issues_none_until_an_override_passes(
    graded_course: Any, learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _complete_with_quiz(learner, graded_course, THREE_OF_FOUR)
    ran = run_queued_tasks(queue)
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["skipped"]
    assert not Certificate.objects.exists()

    teacher = course_editor("tess", graded_course)
    quiz = graded_course.get_children().live().specific().last()
    with django_capture_on_commit_callbacks(execute=True):
        grade_override(user=learner, lesson=quiz.pk, override="92", reason="Regraded", by=teacher)
    ran = run_queued_tasks(queue)
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["rendered"]
    assert Certificate.objects.get().user_id == learner.pk


def test_a_passing_course_grade_issues_on_completion(
    graded_course: Any, learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _complete_with_quiz(learner, graded_course, RIGHT)
    ran = run_queued_tasks(queue)
    # Once for the passing grade, once for the completion (both committed before either ran):
    # one certificate.
    assert [task.result for task in ran if task.func == ISSUE_TASK] == ["rendered", "unchanged"]
    assert Certificate.objects.filter(user=learner).count() == 1


def test_without_the_setting_the_grade_does_not_matter(
    graded_course: Any, learner: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    CourseCertificateSettings.objects.filter(course=graded_course).update(require_pass_grade=False)
    with django_capture_on_commit_callbacks(execute=True):
        _complete_with_quiz(learner, graded_course, THREE_OF_FOUR)
    run_queued_tasks(queue)
    assert Certificate.objects.filter(user=learner).count() == 1
