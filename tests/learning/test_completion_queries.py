"""A lesson completion: exactly what runs in the request, and what runs after its response.

The request goes through the project's whole middleware stack (Django's BaseHandler), with
real commits (a transactional test), so the domain events fire as in production: their
receivers (realtime pushes, notifications, the email task) wait for ``response.close()``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from wagtail.models import Page, ReferenceIndex

from academy.plugins import activation
from learning import services
from learning.models import CourseProgressReport, Enrollment, LessonProgress, Notification
from realtime.models import Event
from tests.realtime.support import SiteTree, build_site

pytestmark = pytest.mark.django_db(transaction=True)

# The service's transaction: its BEGIN (SQLite: "BEGIN IMMEDIATE", see settings) and COMMIT
# statements, which Django's query log counts on both databases. Not reads or writes.
TRANSACTION = 2
# In the request: the user (1; the session comes from the cache), the lesson (1), its course's
# published lessons with the course's id (1; both from the page tree's cache after the first
# completion in the course since a tree change), the enrollment locked (1), the learner's progress
# rows in the course (1), the one write of the lesson's progress row (1), the enrollment's cached
# progress (1). The access policy's answer for the lesson's path (which pages are live, the view
# restrictions) comes from the caches of the page tree and the restrictions.
COMPLETION_IN_REQUEST = 7
# Installed plugins: the webhooks plugin's receivers are durable (on by default), so each of
# lesson_completed and course_completed is stored in the service's transaction: one INSERT of its
# outbox row; after the response, one UPDATE marks it done once its receivers ran.
OUTBOX_ROW = 1
OUTBOX_DONE = 1
# After the response, a lesson: progress.updated is stored: the outbox row (1; the event's
# payload carries the progress with its links, no lesson is read); then class.activity for the
# course's staff: the learner's name (1), the outbox row (1).
CLASS_ACTIVITY = 2
# Installed plugins: the webhooks plugin (on by default) looks up the subscriptions that want each
# delivered event (1 per event: lesson_completed here; none exist, so nothing more).
WEBHOOKS_PER_EVENT = 1
LESSON_AFTER_RESPONSE = 1 + CLASS_ACTIVITY + WEBHOOKS_PER_EVENT + OUTBOX_DONE
# The email task, queued: a row on the ORM broker (the embedded default), nothing on Redis.
EMAIL_QUEUED = 1 if Conf.ORM else 0
# After the response, the last lesson: progress.updated (1: the outbox row), the email
# task, the course-completed notification: the enrollment (1), the notification (1, in its own
# transaction), then its push: the unread count (1), the outbox row (1).
# Installed plugins: the certificates plugin (on by default) queues its issue task on
# course_completed: a row on the ORM broker, nothing on Redis.
CERTIFICATE_QUEUED = 1 if Conf.ORM else 0
# And the webhooks' lookup for lesson_completed and course_completed (2), each outbox row done (2).
COURSE_AFTER_RESPONSE = (
    5 + EMAIL_QUEUED + TRANSACTION + CLASS_ACTIVITY + CERTIFICATE_QUEUED + 2 * (WEBHOOKS_PER_EVENT + OUTBOX_DONE)
)


def _complete(user: Any, lesson_id: int) -> tuple[Any, list[dict[str, str]], list[dict[str, str]]]:
    """POST the completion through the full middleware stack: (response, request queries,
    after-response queries)."""
    client = Client()
    client.force_login(user)
    client.get("/dashboard/")  # the session and Wagtail's site root paths are in the cache
    # The lesson page the learner completes from: the course's date rules ("not yet open") are in
    # the cache, cached per page-tree generation like the outline.
    lesson = Page.objects.get(pk=lesson_id)
    client.get(lesson.url)
    activation.table()  # and the plugins' activation table, as on every request after the first
    request = RequestFactory().post(
        "/learning/progress/", {"lesson_id": str(lesson_id)},
        HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
    )
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]  # as the test client does
    handler = BaseHandler()
    handler.load_middleware()
    with CaptureQueriesContext(connection) as in_request:
        response = handler.get_response(request)
    with CaptureQueriesContext(connection) as after_response:
        response.close()
    return response, in_request.captured_queries, after_response.captured_queries


def _writes_to(table: str, queries: list[dict[str, str]]) -> list[str]:
    """The statements (INSERT, UPDATE) that wrote ``table``."""
    return [
        q["sql"].split()[0] for q in queries
        if q["sql"].startswith((f'INSERT INTO "{table}"', f'UPDATE "{table}"'))
    ]


@pytest.fixture
def site(transactional_db: None) -> SiteTree:
    """Home > Courses > python (3 lessons) and others, rebuilt after the previous test's flush."""
    return build_site()


def test_lesson_completion_runs_eight_queries_in_the_request(site: SiteTree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=site.course)
    response, in_request, after = _complete(learner, site.lessons[0].pk)

    assert response.status_code == 302
    assert len(in_request) == COMPLETION_IN_REQUEST + OUTBOX_ROW + TRANSACTION, "\n".join(q["sql"] for q in in_request)
    assert COMPLETION_IN_REQUEST + OUTBOX_ROW <= 8
    assert _writes_to("academy_outboxevent", in_request) == ["INSERT"]
    assert _writes_to("academy_outboxevent", after) == ["UPDATE"]
    assert _writes_to("learning_lessonprogress", in_request) == ["INSERT"]
    assert len(after) == LESSON_AFTER_RESPONSE, "\n".join(q["sql"] for q in after)
    assert list(Event.objects.filter(type="progress.updated").values_list("data__completed_lessons", flat=True)) == [1]


def test_completion_that_completes_the_course_runs_eight_queries_in_the_request(site: SiteTree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=site.course)
    for lesson in site.lessons[:2]:
        services.lesson_progress_record(user=learner, lesson=lesson)
    Notification.objects.all().delete()

    response, in_request, after = _complete(learner, site.lessons[2].pk)

    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert len(in_request) == COMPLETION_IN_REQUEST + 2 * OUTBOX_ROW + TRANSACTION, "\n".join(q["sql"] for q in in_request)
    assert _writes_to("academy_outboxevent", in_request) == ["INSERT", "INSERT"]
    assert len(after) == COURSE_AFTER_RESPONSE, "\n".join(q["sql"] for q in after)
    assert Enrollment.objects.get(user=learner, course=site.course).status == Enrollment.Status.COMPLETED
    assert list(Notification.objects.values_list("kind", flat=True)) == ["course_completed"]
    # In commit order: the progress push, the staff's class activity (both committed by the
    # completion), then the notification that course_completed's receiver wrote after them.
    assert list(Event.objects.order_by("pk").values_list("type", flat=True))[-3:] == [
        "progress.updated", "class.activity", "notification.created",
    ]


def test_position_update_of_a_touched_lesson_is_one_update(site: SiteTree, learner: Any) -> None:
    services.enrollment_request(user=learner, course=site.course)
    services.lesson_progress_record(user=learner, lesson=site.lessons[0], completed=False, position=10)
    _response, in_request, _after = _complete(learner, site.lessons[0].pk)
    assert _writes_to("learning_lessonprogress", in_request) == ["UPDATE"]
    assert LessonProgress.objects.get(user=learner, lesson=site.lessons[0]).last_position == 100


@pytest.mark.parametrize("model", [Enrollment, CourseProgressReport, LessonProgress, Notification])
def test_learning_models_are_not_in_wagtails_reference_index(model: type) -> None:
    assert ReferenceIndex.model_is_indexable(model) is False
