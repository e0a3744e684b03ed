"""Wagtail's own background work (django-tasks) runs on the Django-Q2 worker, not in the request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from django_q.brokers import Broker
from django_tasks import task_backends
from wagtail.models import ReferenceIndex

from academy.tasks import DjangoQBackend, run_django_task
from courses.models import CoursePage, Instructor
from tests.tasks.conftest import queued_tasks, run_queued_tasks
from tests.tasks.content import build_course

pytestmark = pytest.mark.django_db

WORD = "zymurgical"


def _search(word: str) -> list[int]:
    return [page.pk for page in CoursePage.objects.live().search(word)]


def test_default_django_tasks_backend_is_the_django_q_backend() -> None:
    assert isinstance(task_backends["default"], DjangoQBackend)


@pytest.mark.parametrize("broker_name", ["orm", pytest.param("redis", marks=pytest.mark.redis)], indirect=True)
def test_publishing_queues_the_search_index_update_and_the_worker_applies_it(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tree = build_course()
    run_queued_tasks(queue)
    course = tree.course

    with django_capture_on_commit_callbacks(execute=True):
        course.summary = f"Everything about {WORD} brewing."
        course.save_revision().publish()

    # The editor's request only queued the index work: the index does not know the word yet.
    assert _search(WORD) == []
    queued = [
        (task["func"], task["kwargs"]["module_path"], task["kwargs"]["args"])
        for task in queued_tasks(queue)
        if task["func"] == "academy.tasks.run_django_task"
    ]
    assert ("academy.tasks.run_django_task", "modelsearch.tasks.insert_or_update_object_task",
            ["courses", "coursepage", str(course.pk)]) in queued
    assert ("academy.tasks.run_django_task", "wagtail.tasks.update_reference_index_task",
            ["courses", "coursepage", str(course.pk)]) in queued

    run_queued_tasks(queue)

    assert _search(WORD) == [course.pk]


def test_reference_index_is_updated_by_the_queued_task(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        tree = build_course()
        instructor = Instructor.objects.create(name="Grace Hopper")
    run_queued_tasks(queue)

    with django_capture_on_commit_callbacks(execute=True):
        tree.course.instructor = instructor
        tree.course.save_revision().publish()
    references = ReferenceIndex.get_references_to(instructor)
    assert [ref.object_id for ref in references] == []

    run_queued_tasks(queue)

    assert [ref.object_id for ref in ReferenceIndex.get_references_to(instructor)] == [str(tree.course.pk)]


def test_a_queued_index_update_for_a_deleted_page_ends_quietly(
    queue: Broker, django_capture_on_commit_callbacks: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="academy.tasks"):
        result = run_django_task("modelsearch.tasks.insert_or_update_object_task", ["courses", "coursepage", "999999"], {})

    assert result is None
    assert [r.getMessage() for r in caplog.records if r.name == "academy.tasks"] == [
        "task modelsearch.tasks.insert_or_update_object_task('courses', 'coursepage', '999999') skipped: "
        "CoursePage matching query does not exist."
    ]
