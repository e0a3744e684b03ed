"""Fixtures for the course pages' tests."""

from __future__ import annotations

from io import StringIO

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest
from django.core.management import call_command

from tests.courses.helpers import Tree, make_tree

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _wagtail_tasks_inline(settings: object) -> None:
    """Run Wagtail's own tasks (search and reference index updates) inline, as Wagtail's default.

    In the running site they go to the Django-Q2 worker; these tests are about pages and
    search, not about the worker, so the index must be up to date when the request returns.
    """
    settings.TASKS = IMMEDIATE_TASKS  # type: ignore[attr-defined]


@pytest.fixture
def tree(db: None) -> Tree:
    """A small published site (see ``make_tree``)."""
    return make_tree()


@pytest.fixture
def seeded(db: None) -> str:
    """The demo site from ``manage.py seed_demo``; returns the command's output."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()
