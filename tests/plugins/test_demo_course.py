"""The issue's "done when", on the demo site seed_demo makes: a learner completes the demo pytest
course through its quiz (the form, graded on the server) and downloads a certificate that the
public verify page confirms; switched off for the course, each plugin is gone from it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from academy.plugins import activation
from courses.models import CoursePage, LessonPage
from learning import services
from learning.models import Enrollment
from plugins.certificates.models import Certificate
from plugins.certificates.tasks import issue_certificate
from plugins.quizzes.models import QuizAttempt, QuizLessonPage

pytestmark = pytest.mark.django_db


def test_the_demo_course_completes_through_its_quiz_and_its_certificate_verifies(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.ACADEMY_PAGE_CACHE = False
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    course = CoursePage.objects.get(slug="python-testing-with-pytest")
    quizzes = QuizLessonPage.objects.child_of(course).live()
    assert quizzes.count() == 1  # idempotent
    quiz = quizzes.get()
    assert LessonPage.objects.child_of(course).live().order_by("path").last().pk == quiz.pk

    learner = get_user_model().objects.create_user("grace", "grace@example.com", "pw-grace-1", first_name="Grace", last_name="Hopper")
    client = Client()
    client.force_login(learner)
    services.enrollment_request(user=learner, course=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        for lesson in LessonPage.objects.child_of(course).live().exclude(pk=quiz.pk):
            services.lesson_progress_record(user=learner, lesson=lesson.pk)
        assert client.post(f"/p/quizzes/{quiz.pk}/start/").status_code == 302
        attempt = QuizAttempt.objects.get(user=learner)
        answers = {"q-demo-collect": "collect-test", "q-demo-fixtures": ["fixture-arg", "fixture-yield"], "q-demo-keyword": " ASSERT "}
        assert client.post(f"/p/quizzes/attempts/{attempt.pk}/submit/", answers).status_code == 302
    attempt.refresh_from_db()
    assert attempt.passed
    enrollment = Enrollment.objects.get(user=learner, course=course)
    assert enrollment.status == Enrollment.Status.COMPLETED

    issue_certificate(user_id=learner.pk, course_id=course.pk)  # the task the completion queued
    certificate = Certificate.objects.get(user=learner, course_id=course.pk)
    download = client.get(f"/p/certificates/{certificate.code}/download/")
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
    verify = Client().get(f"/certificates/{certificate.code}/").content.decode()
    assert "Grace Hopper" in verify and course.title in verify and "grace@example.com" not in verify

    for label in ("quizzes", "certificates"):
        activation.set_state(label, "off", course_id=course.pk)
    assert client.get(quiz.url).status_code == 404
    assert "/download/" not in client.get(course.url).content.decode()
