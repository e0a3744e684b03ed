"""Fixtures for the quizzes plugin: the small course tree, a quiz in Python basics, learners."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest

from academy.events import EVENTS
from learning.services import enrollment_request
from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import Tree, make_tree
from tests.learning.conftest import IMMEDIATE_TASKS, make_user
from tests.plugins.quizzes.helpers import make_quiz


@pytest.fixture(autouse=True)
def _wagtail_tasks_inline(settings: Any) -> None:
    """Wagtail's own index updates run inline (these tests are not about the worker)."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def tree(db: None) -> Tree:
    """Home > Courses > Python basics (open, 3 lessons), Databases with SQL (approval, 1 lesson)."""
    return make_tree()


@pytest.fixture
def quiz(tree: Tree) -> QuizLessonPage:
    """A published quiz, the fourth lesson of Python basics (pass mark 75%, no limits)."""
    return make_quiz(tree.python)


@pytest.fixture
def learner(db: None) -> Any:
    """A learner enrolled in Python basics."""
    return make_user("ada")


@pytest.fixture
def enrolled(learner: Any, tree: Tree) -> Any:
    """``learner``, enrolled (active) in Python basics."""
    enrollment_request(user=learner, course=tree.python)
    return learner


@pytest.fixture
def captured_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every domain event sent during the test, as ``(name, payload)`` in order."""
    events: list[tuple[str, dict[str, Any]]] = []

    def capture(sender: str, payload: dict[str, Any], **kwargs: Any) -> None:
        events.append((sender, payload))

    for name, signal in EVENTS.items():
        signal.connect(capture, weak=False, dispatch_uid=f"tests.quizzes.capture.{name}")
    yield events
    for name, signal in EVENTS.items():
        signal.disconnect(dispatch_uid=f"tests.quizzes.capture.{name}")
