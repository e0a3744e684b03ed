"""Fixtures for the discussions plugin: the small course tree, two learners, staff, outsiders."""

from __future__ import annotations

from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest

from academy.ratelimit import reset as reset_rate_limits
from learning.services import enrollment_request
from tests.courses.helpers import Tree, make_tree
from tests.learning.conftest import IMMEDIATE_TASKS, make_user
from tests.realtime.conftest import layer, world  # noqa: F401 (fixtures of the browser tests)


@pytest.fixture(autouse=True)
def _wagtail_tasks_inline(settings: Any) -> None:
    """Wagtail's own index updates run inline (these tests are not about the worker)."""
    settings.TASKS = IMMEDIATE_TASKS
    reset_rate_limits()


@pytest.fixture
def tree(db: None) -> Tree:
    """Home > Courses > Python basics (open, 3 lessons), Databases with SQL (approval, 1 lesson)."""
    return make_tree()


@pytest.fixture
def lesson(tree: Tree) -> Any:
    """The first lesson of Python basics."""
    return tree.lessons[0]


@pytest.fixture
def ada(tree: Tree) -> Any:
    """A learner enrolled in Python basics."""
    user = make_user("ada", first_name="Ada", last_name="Lovelace")
    enrollment_request(user=user, course=tree.python)
    return user


@pytest.fixture
def bob(tree: Tree) -> Any:
    """Another learner enrolled in Python basics."""
    user = make_user("bob")
    enrollment_request(user=user, course=tree.python)
    return user


@pytest.fixture
def staff(tree: Tree) -> Any:
    """A superuser: the course's staff."""
    return make_user("grace", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(tree: Tree) -> Any:
    """A logged-in user enrolled in nothing."""
    return make_user("eve")


@pytest.fixture
def pending(tree: Tree) -> Any:
    """A learner whose enrollment in Databases with SQL waits for approval."""
    user = make_user("pat")
    enrollment_request(user=user, course=tree.sql)
    return user
