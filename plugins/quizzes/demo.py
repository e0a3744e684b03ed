"""Demo content of the quizzes plugin (``manage.py seed_demo`` calls ``seed_demo``): a short quiz
that closes the demo's open pytest course, so a learner can pass it and complete the course."""

from __future__ import annotations

from typing import Any

from academy.sdk import CourseIndexPage, CoursePage

from .models import QuizLessonPage

COURSE_SLUG = "python-testing-with-pytest"
QUIZ_SLUG = "check-your-understanding"


def _choice(choice_id: str, text: str, correct: bool, feedback: str) -> dict[str, Any]:
    return {"type": "item", "id": choice_id, "value": {"text": text, "correct": correct, "feedback": feedback}}


QUESTIONS: list[dict[str, Any]] = [
    {"type": "single_choice", "id": "demo-collect", "value": {
        "prompt": "<p>Which functions does pytest collect as tests by default?</p>", "points": 1,
        "choices": [
            _choice("collect-test", "Functions whose names start with test_", True,
                    "Right: test_*.py files, test_* functions and Test* classes."),
            _choice("collect-all", "Every function in the project", False,
                    "No: only names that follow its conventions (test_*)."),
            _choice("collect-decorated", "Only functions marked with @pytest.mark.test", False,
                    "No marker is needed: the name is enough."),
        ],
    }},
    {"type": "multiple_choice", "id": "demo-fixtures", "value": {
        "prompt": "<p>Which of these are true of pytest fixtures?</p>", "points": 1,
        "choices": [
            _choice("fixture-arg", "A test asks for a fixture by naming it as an argument", True, "Yes."),
            _choice("fixture-yield", "Code after yield in a fixture runs as its teardown", True, "Yes."),
            _choice("fixture-global", "Fixtures must be global variables", False, "No: they are functions."),
        ],
    }},
    {"type": "short_answer", "id": "demo-keyword", "value": {
        "prompt": "<p>Which Python statement does pytest rewrite to show rich failure messages?</p>", "points": 1,
        "accepted_answers": [{"type": "item", "id": "keyword-assert", "value": "assert"}],
        "case_sensitive": False,
        "feedback_correct": "Yes: a plain assert is all a pytest test needs.",
        "feedback_incorrect": "It is assert: pytest rewrites assert statements in test modules.",
    }},
]


def seed_demo(*, catalog: CourseIndexPage, stdout: Any) -> None:
    """Add (once) the quiz at the end of the demo pytest course; leave an edited one alone."""
    course = CoursePage.objects.child_of(catalog).filter(slug=COURSE_SLUG).first()
    if course is None or QuizLessonPage.objects.child_of(course).filter(slug=QUIZ_SLUG).exists():
        return
    quiz = QuizLessonPage(
        title="Check your understanding", slug=QUIZ_SLUG, live=False, estimated_minutes=5, pass_mark=60,
        summary="Three questions on what this course covered; pass to complete the course.",
        body=[{"type": "paragraph", "value": "<p>Answer the three questions, then submit. Two right answers pass.</p>"}],
        questions=QUESTIONS,
    )
    course.add_child(instance=quiz)
    quiz.save_revision().publish()
