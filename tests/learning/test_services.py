"""Every rule of learning.services: enrollments, progress, completion, notifications."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from learning import services
from learning.models import Enrollment, LessonProgress, Notification
from learning.services import refresh_progress_cache
from tests.courses.helpers import Tree, make_lesson

pytestmark = pytest.mark.django_db


def enroll_active(user: Any, tree: Tree) -> Enrollment:
    return services.enrollment_request(user=user, course=tree.python).enrollment


# --- enrollment_request ------------------------------------------------------------------------


def test_enrollment_request_open_course_is_active_with_progress_cache(tree: Tree, learner: Any) -> None:
    result = services.enrollment_request(user=learner, course=tree.python)
    enrollment = Enrollment.objects.get()
    assert (result.created, result.changed, result.enrollment.pk) == (True, True, enrollment.pk)
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert enrollment.activated_at is not None
    assert (enrollment.completed_lessons, enrollment.total_lessons, enrollment.progress_percent) == (0, 3, 0)
    assert enrollment.next_lesson_id == tree.lessons[0].pk
    assert enrollment.resume_lesson_id == tree.lessons[0].pk


def test_enrollment_request_approval_course_is_pending(tree: Tree, learner: Any) -> None:
    result = services.enrollment_request(user=learner, course=tree.sql)
    assert result.created is True
    assert result.enrollment.status == Enrollment.Status.PENDING_APPROVAL
    assert result.enrollment.activated_at is None


def test_enrollment_request_twice_returns_the_same_row(tree: Tree, learner: Any) -> None:
    first = services.enrollment_request(user=learner, course=tree.python)
    second = services.enrollment_request(user=learner, course=tree.python.pk)
    assert (second.created, second.changed) == (False, False)
    assert second.enrollment.pk == first.enrollment.pk
    assert Enrollment.objects.count() == 1


def test_enrollment_request_unpublished_course_is_404_and_writes_nothing(tree: Tree, learner: Any) -> None:
    tree.python.unpublish()
    with pytest.raises(services.CourseNotAvailable) as raised:
        services.enrollment_request(user=learner, course=tree.python)
    assert raised.value.status_code == 404
    assert Enrollment.objects.count() == 0


def test_enrollment_request_missing_course_is_404(tree: Tree, learner: Any) -> None:
    with pytest.raises(services.NotFound):
        services.enrollment_request(user=learner, course=999_999)
    with pytest.raises(services.NotFound):
        services.enrollment_request(user=learner, course=tree.lessons[0].pk)  # a lesson, not a course
    assert Enrollment.objects.count() == 0


def test_enrollment_request_anonymous_is_403(tree: Tree) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(services.Forbidden):
        services.enrollment_request(user=AnonymousUser(), course=tree.python)
    assert Enrollment.objects.count() == 0


def test_enrollment_request_after_cancel_reopens_the_row(tree: Tree, learner: Any) -> None:
    enrollment = enroll_active(learner, tree)
    services.enrollment_cancel(enrollment=enrollment, by=learner)
    result = services.enrollment_request(user=learner, course=tree.python)
    assert (result.created, result.changed, result.enrollment.pk) == (False, True, enrollment.pk)
    assert result.enrollment.status == Enrollment.Status.ACTIVE
    assert result.enrollment.cancelled_at is None
    assert Enrollment.objects.count() == 1


# --- enrollment_approve / enrollment_cancel ----------------------------------------------------


def test_enrollment_approve_pending_becomes_active(tree: Tree, learner: Any, staff: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    result = services.enrollment_approve(enrollment=pending, by=staff)
    pending.refresh_from_db()
    assert (result.changed, pending.status, pending.decided_by_id) == (True, Enrollment.Status.ACTIVE, staff.pk)
    assert pending.total_lessons == 1


def test_enrollment_approve_twice_is_idempotent(tree: Tree, learner: Any, staff: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    services.enrollment_approve(enrollment=pending, by=staff)
    again = services.enrollment_approve(enrollment=pending.pk, by=staff)
    assert (again.changed, again.enrollment.status) == (False, Enrollment.Status.ACTIVE)


def test_enrollment_approve_without_permission_is_403(tree: Tree, learner: Any, editor: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    for user in (learner, editor):
        with pytest.raises(services.Forbidden):
            services.enrollment_approve(enrollment=pending, by=user)
    pending.refresh_from_db()
    assert pending.status == Enrollment.Status.PENDING_APPROVAL


def test_enrollment_approve_cancelled_is_409(tree: Tree, learner: Any, staff: Any) -> None:
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    services.enrollment_cancel(enrollment=pending, by=learner)
    with pytest.raises(services.Conflict) as raised:
        services.enrollment_approve(enrollment=pending, by=staff)
    assert raised.value.status_code == 409


def test_enrollment_approve_missing_is_404(staff: Any) -> None:
    with pytest.raises(services.NotFound):
        services.enrollment_approve(enrollment=12345, by=staff)


def test_enrollment_cancel_by_learner_by_staff_not_by_others(
    tree: Tree, learner: Any, other_learner: Any, staff: Any
) -> None:
    enrollment = enroll_active(learner, tree)
    with pytest.raises(services.Forbidden):
        services.enrollment_cancel(enrollment=enrollment, by=other_learner)
    result = services.enrollment_cancel(enrollment=enrollment, by=staff)
    assert (result.changed, result.enrollment.status, result.enrollment.decided_by_id) == (
        True, Enrollment.Status.CANCELLED, staff.pk,
    )
    again = services.enrollment_cancel(enrollment=enrollment, by=learner)
    assert again.changed is False


# --- lesson_progress_record --------------------------------------------------------------------


def test_lesson_progress_record_completes_once(tree: Tree, learner: Any) -> None:
    enroll_active(learner, tree)
    first = services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    second = services.lesson_progress_record(user=learner, lesson=tree.lessons[0].pk)
    assert (first.newly_completed, second.newly_completed) == (True, False)
    assert (first.completed_lessons, first.total_lessons, first.percent) == (1, 3, 33)
    assert first.next_lesson is not None and first.next_lesson.pk == tree.lessons[1].pk
    assert second.progress.completed_at == first.progress.completed_at
    assert LessonProgress.objects.count() == 1
    assert first.progress.last_position == 100
    enrollment = Enrollment.objects.get()
    assert (enrollment.completed_lessons, enrollment.progress_percent, enrollment.next_lesson_id) == (
        1, 33, tree.lessons[1].pk,
    )
    assert enrollment.last_activity_at is not None


def test_lesson_progress_record_position_only_sets_resume_lesson(tree: Tree, learner: Any) -> None:
    enroll_active(learner, tree)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    result = services.lesson_progress_record(user=learner, lesson=tree.lessons[2], completed=False, position=40)
    assert (result.newly_completed, result.progress.completed_at, result.progress.last_position) == (False, None, 40)
    enrollment = Enrollment.objects.get()
    assert (enrollment.next_lesson_id, enrollment.resume_lesson_id) == (tree.lessons[1].pk, tree.lessons[2].pk)


def test_lesson_progress_record_completes_course_when_every_published_lesson_is_done(
    tree: Tree, learner: Any
) -> None:
    draft = make_lesson(tree.python, "Unpublished extra", live=False)
    enroll_active(learner, tree)
    results = [services.lesson_progress_record(user=learner, lesson=lesson) for lesson in tree.lessons]
    assert [r.course_newly_completed for r in results] == [False, False, True]
    assert [r.course_completed for r in results] == [False, False, True]
    assert (results[-1].percent, results[-1].next_lesson) == (100, None)
    enrollment = Enrollment.objects.get()
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert enrollment.completed_at is not None
    assert draft.pk not in LessonProgress.objects.values_list("lesson_id", flat=True)
    # Repeating after completion changes nothing and does not complete the course again.
    again = services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    assert (again.course_completed, again.course_newly_completed, again.newly_completed) == (True, False, False)


def test_lesson_progress_record_unpublished_lesson_is_404(tree: Tree, learner: Any) -> None:
    draft = make_lesson(tree.python, "Draft", live=False)
    enroll_active(learner, tree)
    with pytest.raises(services.LessonNotAvailable) as raised:
        services.lesson_progress_record(user=learner, lesson=draft)
    assert raised.value.status_code == 404
    with pytest.raises(services.LessonNotAvailable):
        services.lesson_progress_record(user=learner, lesson=tree.python.pk)  # a course, not a lesson
    assert LessonProgress.objects.count() == 0


def test_lesson_progress_record_not_enrolled_pending_or_cancelled_is_403(
    tree: Tree, learner: Any, other_learner: Any
) -> None:
    with pytest.raises(services.NotEnrolled) as raised:
        services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    assert raised.value.status_code == 403
    services.enrollment_request(user=learner, course=tree.sql)
    sql_lesson = tree.sql.get_children().first()
    with pytest.raises(services.NotEnrolled, match="waiting for approval"):
        services.lesson_progress_record(user=learner, lesson=sql_lesson.pk)
    enrollment = enroll_active(other_learner, tree)
    services.enrollment_cancel(enrollment=enrollment, by=other_learner)
    with pytest.raises(services.NotEnrolled):
        services.lesson_progress_record(user=other_learner, lesson=tree.lessons[0])
    assert LessonProgress.objects.count() == 0


@pytest.mark.parametrize("position", [-1, 101, "50", 2.5, True])
def test_lesson_progress_record_bad_position_is_400(tree: Tree, learner: Any, position: Any) -> None:
    enroll_active(learner, tree)
    with pytest.raises(services.InvalidInput) as raised:
        services.lesson_progress_record(user=learner, lesson=tree.lessons[0], completed=False, position=position)
    assert raised.value.status_code == 400
    assert LessonProgress.objects.count() == 0


def test_refresh_progress_cache_after_a_new_lesson(tree: Tree, learner: Any, other_learner: Any) -> None:
    enroll_active(learner, tree)
    enroll_active(other_learner, tree)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    new = make_lesson(tree.python, "Packaging")
    assert refresh_progress_cache(course_id=tree.python.pk) == 2
    rows = dict(Enrollment.objects.values_list("user_id", "total_lessons"))
    assert rows == {learner.pk: 4, other_learner.pk: 4}
    mine = Enrollment.objects.get(user=learner)
    assert (mine.completed_lessons, mine.progress_percent) == (1, 25)
    assert refresh_progress_cache(course_id=tree.python.pk) == 0
    assert refresh_progress_cache(course_id=999_999) == 0
    assert new.pk != mine.next_lesson_id


# --- notifications -----------------------------------------------------------------------------


def test_notification_create_stores_it(learner: Any) -> None:
    note = services.notification_create(user=learner, kind="announcement", title=" Hello ", body="b", link="/courses/")
    assert (note.user_id, note.kind, note.title, note.body, note.link, note.read_at) == (
        learner.pk, "announcement", "Hello", "b", "/courses/", None,
    )


@pytest.mark.parametrize(
    ("kind", "title", "link"),
    [("nope", "t", ""), ("announcement", "", ""), ("announcement", "x" * 201, ""),
     ("announcement", "t", "javascript:alert(1)"), ("announcement", "t", "//evil.example/")],
)
def test_notification_create_bad_input_is_400(learner: Any, kind: str, title: str, link: str) -> None:
    with pytest.raises(services.InvalidInput):
        services.notification_create(user=learner, kind=kind, title=title, link=link)
    assert Notification.objects.count() == 0


def make_notes(user: Any, count: int) -> list[Notification]:
    return [services.notification_create(user=user, kind="announcement", title=f"n{i}") for i in range(count)]


def test_notification_mark_read_some_then_all(learner: Any) -> None:
    notes = make_notes(learner, 3)
    assert services.notification_mark_read(user=learner, notification_ids=[notes[0].pk]) == 1
    assert services.notification_mark_read(user=learner, notification_ids=[notes[0].pk]) == 0
    assert services.notification_mark_read(user=learner) == 2
    assert Notification.objects.filter(read_at__isnull=True).count() == 0


def test_notification_mark_read_other_users_is_404_and_marks_nothing(learner: Any, other_learner: Any) -> None:
    mine = make_notes(learner, 1)[0]
    theirs = make_notes(other_learner, 1)[0]
    with pytest.raises(services.NotificationNotFound) as raised:
        services.notification_mark_read(user=learner, notification_ids=[mine.pk, theirs.pk])
    assert raised.value.status_code == 404
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


@pytest.mark.parametrize("ids", [[], ["1"], [0], [-3], "12", [True], 5])
def test_notification_mark_read_bad_ids_is_400(learner: Any, ids: Any) -> None:
    make_notes(learner, 1)
    with pytest.raises(services.InvalidInput):
        services.notification_mark_read(user=learner, notification_ids=ids)
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_notification_prune_read_deletes_only_old_read_ones(learner: Any) -> None:
    old_read, recent_read, unread = make_notes(learner, 3)
    now = timezone.now()
    Notification.objects.filter(pk=old_read.pk).update(read_at=now - timedelta(days=100))
    Notification.objects.filter(pk=recent_read.pk).update(read_at=now - timedelta(days=1))
    assert services.notification_prune_read(older_than=now - timedelta(days=90)) == 1
    assert sorted(Notification.objects.values_list("pk", flat=True)) == sorted([recent_read.pk, unread.pk])
