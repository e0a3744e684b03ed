"""Course-level tasks: "course updated" fan-out, progress cache refresh, notification pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from learning import tasks
from learning.models import Enrollment, Notification
from tests.tasks.content import build_course, make_enrollment, make_learner

pytestmark = pytest.mark.django_db


def test_broadcast_course_update_notifies_each_learner_with_access_once() -> None:
    tree = build_course()
    lesson = tree.lessons[0]
    ada, grace, linus = make_learner("ada"), make_learner("grace"), make_learner("linus")
    make_enrollment(ada, tree.course)
    make_enrollment(grace, tree.course, Enrollment.Status.COMPLETED)
    make_enrollment(linus, tree.course, Enrollment.Status.PENDING_APPROVAL)

    first = tasks.broadcast_course_update(page_id=lesson.pk, course_id=tree.course.pk, revision_id=5)
    again = tasks.broadcast_course_update(page_id=lesson.pk, course_id=tree.course.pk, revision_id=5)

    assert (first, again) == (2, 0)
    rows = list(Notification.objects.order_by("user__username").values_list("user__username", "kind", "title", "link"))
    assert rows == [
        ("ada", "course_updated", "Python Basics: “Lesson 1” was updated", "/courses/python-basics/lesson-1/"),
        ("grace", "course_updated", "Python Basics: “Lesson 1” was updated", "/courses/python-basics/lesson-1/"),
    ]


def test_broadcast_course_update_of_a_new_revision_notifies_again() -> None:
    tree = build_course()
    make_enrollment(make_learner("ada"), tree.course)

    assert tasks.broadcast_course_update(page_id=tree.course.pk, course_id=tree.course.pk, revision_id=5) == 1
    assert tasks.broadcast_course_update(page_id=tree.course.pk, course_id=tree.course.pk, revision_id=6) == 1

    assert list(Notification.objects.values_list("title", flat=True)) == ["Python Basics was updated"] * 2


def test_broadcast_course_update_for_a_deleted_page_ends_quietly(caplog: pytest.LogCaptureFixture) -> None:
    tree = build_course()
    make_enrollment(make_learner("ada"), tree.course)
    lesson_id = tree.lessons[0].pk
    tree.lessons[0].delete()

    with caplog.at_level("INFO", logger="learning.tasks"):
        assert tasks.broadcast_course_update(page_id=lesson_id, course_id=tree.course.pk, revision_id=5) == 0

    assert Notification.objects.count() == 0
    assert [r.getMessage() for r in caplog.records if r.name == "learning.tasks"] == [
        f"broadcast_course_update skipped (page gone or unpublished): page_id={lesson_id}, course_id={tree.course.pk}"
    ]


def test_refresh_course_progress_recomputes_the_cached_totals() -> None:
    tree = build_course(lessons=3)
    enrollment = make_enrollment(make_learner("ada"), tree.course)
    Enrollment.objects.filter(pk=enrollment.pk).update(total_lessons=0)

    tasks.refresh_course_progress(course_id=tree.course.pk)

    enrollment.refresh_from_db()
    assert (enrollment.completed_lessons, enrollment.total_lessons) == (0, 3)


def test_prune_read_notifications_deletes_only_old_read_ones() -> None:
    ada = make_learner("ada")
    now = timezone.now()
    old_read = Notification.objects.create(user=ada, kind="announcement", title="old", read_at=now - timedelta(days=100))
    Notification.objects.create(user=ada, kind="announcement", title="recent", read_at=now - timedelta(days=1))
    Notification.objects.create(user=ada, kind="announcement", title="unread")

    assert tasks.prune_read_notifications(days=90) == 1

    assert sorted(Notification.objects.values_list("title", flat=True)) == ["recent", "unread"]
    assert not Notification.objects.filter(pk=old_read.pk).exists()
