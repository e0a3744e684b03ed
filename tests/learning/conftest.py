"""Fixtures for the learning core: a small course tree, users in every role, event capture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from academy.events import EVENTS
from learning import events as _learning_events  # noqa: F401  (defines them)
from tests.courses.helpers import Tree, make_tree

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

User = get_user_model()


@pytest.fixture(autouse=True)
def _wagtail_tasks_inline(settings: Any) -> None:
    """Wagtail's own index updates run inline (these tests are not about the worker)."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture
def tree(db: None) -> Tree:
    """Home > Courses > Python basics (open, 3 lessons), Databases with SQL (approval, 1 lesson)."""
    return make_tree()


def make_user(username: str, **fields: Any) -> Any:
    """A user with password "pw" and an email derived from the username."""
    return User.objects.create_user(username=username, email=f"{username}@example.com", password="pw", **fields)


@pytest.fixture
def learner(db: None) -> Any:
    """A plain learner."""
    return make_user("ada")


@pytest.fixture
def other_learner(db: None) -> Any:
    """Another plain learner."""
    return make_user("bob")


@pytest.fixture
def editor(db: None) -> Any:
    """A Wagtail editor (Editors group: admin access, pages), no enrollment permissions."""
    user = make_user("eve")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def staff(db: None) -> Any:
    """A staff member who may manage enrollments (admin access + learning.change/view_enrollment)
    and edits every page (Wagtail's Moderators group: page permissions on the whole tree), so
    every course's learners are theirs."""
    user = make_user("sam", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"),
        Permission.objects.get(codename="change_enrollment", content_type__app_label="learning"),
        Permission.objects.get(codename="view_enrollment", content_type__app_label="learning"),
    )
    return User.objects.get(pk=user.pk)


@pytest.fixture
def captured_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every domain event sent during the test, as ``(name, payload)`` in order."""
    events: list[tuple[str, dict[str, Any]]] = []

    def capture(sender: str, payload: dict[str, Any], **kwargs: Any) -> None:
        events.append((sender, payload))

    for name, signal in EVENTS.items():
        signal.connect(capture, weak=False, dispatch_uid=f"tests.learning.capture.{name}")
    yield events
    for name, signal in EVENTS.items():
        signal.disconnect(dispatch_uid=f"tests.learning.capture.{name}")
