"""A Python client generated from the API's own schema (openapi-python-client), as an app or
integration developer would make one: the tests' generated-client journeys and the integration
bench share this one way of making it.

``generate(schema, into)`` writes the schema and the client package under ``into`` and imports
it; ``remove(into)`` forgets it again (for a test that generated its own). ``quiz_journey``
is a learner's app taking a course's quiz through the generated client's typed calls.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

PACKAGE = "academy_client"


class GenerationFailed(RuntimeError):
    """openapi-python-client refused the schema (its output is the message)."""


def generate(schema: dict[str, Any], into: Path, *, package: str = PACKAGE) -> ModuleType:
    """Generate the client of ``schema`` (the parsed ``/api/schema/`` JSON) into ``into/package``
    and import it (``into`` is put first on ``sys.path``)."""
    spec = into / "openapi.json"
    spec.write_text(json.dumps(schema))
    config = into / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: nothing outside the venv
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
               "--output-path", str(into / package), "--meta", "none", "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GenerationFailed(done.stdout + done.stderr)
    sys.path.insert(0, str(into))
    return importlib.import_module(package)


def operation(package: ModuleType, tag: str, operation_id: str) -> ModuleType:
    """The generated module of one operation (``api/<tag>/<operation id>.py``): its
    ``sync_detailed`` / ``sync`` are the typed calls."""
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation_id}")


def remove(into: Path, *, package: str = PACKAGE) -> None:
    """Undo :func:`generate`'s import: ``into`` off ``sys.path``, the package's modules forgotten."""
    if str(into) in sys.path:
        sys.path.remove(str(into))
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]


# --- A learner's quiz journey, as a mobile app makes it ---------------------------------------

#: How the generated client names the quiz lesson kind (``lessons/`` ``kind``).
QUIZ_KIND = "quizzes.quiz"
#: The right answers to the demo's quiz (``plugins.quizzes.demo.QUESTIONS``), as a learner who
#: took the pytest course gives them.
DEMO_ANSWERS: dict[str, Any] = {
    "demo-collect": "collect-test",
    "demo-fixtures": ["fixture-arg", "fixture-yield"],
    "demo-keyword": "assert",
}


class JourneyFailed(RuntimeError):
    """A call of the journey was answered with an error status (the answer is the message)."""


@dataclass
class QuizJourney:
    """What the journey did and saw."""

    course_id: int
    quiz_id: int
    attempt_id: int
    questions: int
    percent: float | None
    passed: bool
    completed_in_progress: bool
    course_completed: bool
    statuses: list[int] = field(default_factory=list)


def quiz_journey(package: ModuleType, client: Any, *, course_title: str, answers: dict[str, Any]) -> QuizJourney:
    """A learner's app takes a course's quiz through the generated client's typed calls only:
    list the courses (to the one titled ``course_title``), enroll, list its lessons and pick the
    quiz (``kind`` ``quizzes.quiz``), read it, start an attempt, save each question's answer from
    ``answers`` (question id -> answer) one at a time as the learner goes, submit, read the
    result, and read the course's progress. Raises :class:`JourneyFailed` on any error answer."""
    models = importlib.import_module(f"{package.__name__}.models")
    statuses: list[int] = []

    def call(tag: str, operation_id: str, *args: Any, **kwargs: Any) -> Any:
        response = operation(package, tag, operation_id).sync_detailed(*args, client=client, **kwargs)
        statuses.append(int(response.status_code))
        if response.status_code >= 300:
            raise JourneyFailed(f"{operation_id}: {int(response.status_code)} {response.content[:300]!r}")
        return response.parsed

    def every(tag: str, operation_id: str, **kwargs: Any) -> list[Any]:
        rows: list[Any] = []
        cursor = None
        while True:
            page = call(tag, operation_id, **kwargs, **({"cursor": cursor} if cursor else {}))
            rows += page.results
            if not page.next_:
                return rows
            cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]

    course = next((row for row in every("courses", "courses_list", page_size=100) if row.title == course_title), None)
    if course is None:
        raise JourneyFailed(f"courses_list: no course titled {course_title!r}")
    call("enrollments", "enrollments_create", body=models.EnrollmentCreateRequest(course_id=course.id))
    quiz_lesson = next((row for row in every("lessons", "lessons_list", course=course.id, page_size=100)
                        if row.kind == QUIZ_KIND), None)
    if quiz_lesson is None:
        raise JourneyFailed(f"lessons_list: no lesson of kind {QUIZ_KIND} in course {course.id}")
    quiz = call("p", "quizzes_retrieve", quiz_lesson.id)
    if not quiz.can_start:
        raise JourneyFailed(f"quizzes_retrieve: quiz {quiz.id} cannot be started")
    attempt = call("p", "quizzes_attempts_create", quiz.id)
    given: dict[str, Any] = {}
    for question in attempt.questions:
        given[question.id] = answers[question.id]
        saved = call("p", "quizzes_attempts_answers_update", attempt.id,
                     body=models.AnswersRequest(answers=models.AnswersRequestAnswers.from_dict(dict(given))))
        if saved.answers.additional_properties.get(question.id) is None:
            raise JourneyFailed(f"quizzes_attempts_answers_update: {question.id} not saved")
    call("p", "quizzes_attempts_submit", attempt.id,
         body=models.AnswersRequest(answers=models.AnswersRequestAnswers.from_dict(given)))
    result = call("p", "quizzes_attempts_retrieve", attempt.id)
    progress = every("progress", "progress_list", course=course.id, page_size=100)
    enrollment = next(row for row in every("enrollments", "enrollments_list", page_size=100) if row.course.id == course.id)
    return QuizJourney(
        course_id=course.id, quiz_id=quiz.id, attempt_id=attempt.id, questions=len(attempt.questions),
        percent=result.percent, passed=result.passed,
        completed_in_progress=any(row.lesson_id == quiz.id and row.completed for row in progress),
        course_completed=enrollment.completed_at is not None, statuses=statuses,
    )
