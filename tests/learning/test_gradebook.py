"""The gradebook (``learning.gradebook``): graded kinds, recording grades with late marks, the
course grade and its missing-grade rule, staff overrides (audited, notified), "My grades"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.models import ModelLogEntry

from courses.lesson_kinds import graded_kinds
from courses.models import DueRule, LessonPage
from learning import gradebook
from learning.gradebook import (
    CellState,
    compute_course_grade,
    format_percent,
    grade_override,
    grade_record,
)
from learning.models import Enrollment, Grade, Notification
from learning.services import InvalidInput, enrollment_request
from plugins.quizzes.models import QuizLessonPage
from plugins.quizzes.services import quiz_attempt_start, quiz_attempt_submit
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import course_editor
from tests.plugins.quizzes.helpers import RIGHT, WRONG, make_quiz

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HALF = {**RIGHT, "q-short": "nope", "q-number": "1"}  # 2 of 4: 50%


@dataclass
class Item:
    """A stand-in for a graded lesson in the pure computation."""

    pk: int
    grade_weight: int


@dataclass
class Row:
    score: Decimal | None
    override: Decimal | None = None
    late: bool = False
    override_reason: str = ""
    submitted_at: datetime | None = None


def _submit(user: Any, quiz: QuizLessonPage, answers: dict[str, Any]) -> None:
    attempt = quiz_attempt_start(user=user, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=user, attempt=attempt.pk, answers=answers)


@pytest.fixture
def quiz(tree: Tree) -> QuizLessonPage:
    return make_quiz(tree.python)


@pytest.fixture
def enrolled(learner: Any, tree: Tree) -> Any:
    enrollment_request(user=learner, course=tree.python)
    return learner


# --- The rule ------------------------------------------------------------------------------------


def test_graded_kinds_are_the_kinds_that_say_so() -> None:
    assert QuizLessonPage in graded_kinds()
    assert LessonPage not in graded_kinds()


def test_course_grade_is_the_weighted_mean_with_missing_as_zero_once_due() -> None:
    items = [Item(1, 2), Item(2, 1), Item(3, 1), Item(4, 0)]
    grades = {1: Row(Decimal("90")), 2: Row(Decimal("40"), override=Decimal("60")), 4: Row(Decimal("0"))}
    # Item 3 has no grade and is not due yet: left out, (2*90 + 60) / 3 = 80; item 4 weighs 0.
    before = compute_course_grade(items, grades, due={3: NOW + timedelta(days=1)}, course_complete=False,
                                  pass_grade=80, now=NOW)
    assert (before.percent, before.passed, before.pending, before.label, before.result) == (
        Decimal("80.00"), True, 1, "80%", "passed")
    assert [cell.state for cell in before.cells] == [CellState.GRADED, CellState.GRADED, CellState.PENDING,
                                                     CellState.GRADED]
    assert before.cells[1].overridden and before.cells[1].grade == Decimal("60")
    # Once due, it counts as 0: (180 + 60 + 0) / 4 = 60.
    after = compute_course_grade(items, grades, due={3: NOW - timedelta(seconds=1)}, course_complete=False,
                                 pass_grade=80, now=NOW)
    assert (after.percent, after.passed, after.pending, after.cells[2].label) == (
        Decimal("60.00"), False, 0, "0% (missing)")
    # Without a due date, completing the course makes it count.
    complete = compute_course_grade(items, grades, due={}, course_complete=True, pass_grade=None, now=NOW)
    assert (complete.percent, complete.passed, complete.result) == (Decimal("60.00"), None, "")


def test_no_grade_yet_and_exact_pass() -> None:
    nothing = compute_course_grade([Item(1, 1)], {}, due={}, course_complete=False, pass_grade=50, now=NOW)
    assert (nothing.percent, nothing.passed, nothing.label) == (None, None, "-")
    # 2/3 of 100 = 66.666...: shown rounded down, and it does not reach a pass grade of 67.
    items = [Item(1, 1), Item(2, 2)]
    close = compute_course_grade(items, {1: Row(Decimal("0")), 2: Row(Decimal("100"))}, due={},
                                 course_complete=False, pass_grade=67, now=NOW)
    assert (close.percent, close.passed) == (Decimal("66.66"), False)


def test_percent_reads_without_trailing_zeros() -> None:
    assert [format_percent(v) for v in (Decimal("80.00"), Decimal("0.00"), Decimal("83.33"), Decimal("72.50"), 100,
                                        None)] == ["80%", "0%", "83.33%", "72.5%", "100%", "-"]


# --- Recording -----------------------------------------------------------------------------------


def test_the_quiz_reports_its_best_attempt(enrolled: Any, quiz: QuizLessonPage) -> None:
    _submit(enrolled, quiz, WRONG)
    assert Grade.objects.get(user=enrolled, lesson_id=quiz.pk).score == Decimal("0.00")
    _submit(enrolled, quiz, HALF)
    first_half = Grade.objects.get(user=enrolled, lesson_id=quiz.pk)
    assert first_half.score == Decimal("50.00")
    _submit(enrolled, quiz, WRONG)  # a lower retry does not lower the grade, nor move its time
    again = Grade.objects.get(user=enrolled, lesson_id=quiz.pk)
    assert (again.score, again.submitted_at, again.late) == (Decimal("50.00"), first_half.submitted_at, False)
    _submit(enrolled, quiz, RIGHT)
    assert Grade.objects.get(user=enrolled, lesson_id=quiz.pk).score == Decimal("100.00")
    assert Grade.objects.filter(user=enrolled).count() == 1


def test_work_after_the_due_date_is_late(enrolled: Any, tree: Tree) -> None:
    due = timezone.now() - timedelta(hours=1)
    late_quiz = make_quiz(tree.python, "Late quiz", slug="late-quiz", due_rule=DueRule.FIXED, due_at=due)
    _submit(enrolled, late_quiz, RIGHT)
    assert Grade.objects.get(user=enrolled, lesson_id=late_quiz.pk).late is True
    grade = grade_record(user=enrolled, lesson=late_quiz, score="90", submitted_at=due - timedelta(minutes=1))
    assert (grade.score, grade.late) == (Decimal("90.00"), False)


def test_grade_record_refuses_bad_input_and_writes_nothing(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    for bad in ("101", "-1", "abc", "50.123", "NaN", True):
        with pytest.raises(InvalidInput):
            grade_record(user=enrolled, lesson=quiz, score=bad)
    with pytest.raises(InvalidInput) as not_graded:
        grade_record(user=enrolled, lesson=tree.lessons[0], score=50)
    assert not_graded.value.message == "This lesson is not graded."
    stranger = make_user("stranger")
    with pytest.raises(Exception) as not_enrolled:
        grade_record(user=stranger, lesson=quiz, score=50)
    assert not_enrolled.value.status_code == 403
    assert not Grade.objects.exists()


def test_grade_changed_payload(enrolled: Any, tree: Tree, quiz: QuizLessonPage, django_capture_on_commit_callbacks: Any,
                               captured: list[tuple[str, dict[str, Any]]]) -> None:
    type(tree.python).objects.filter(pk=tree.python.pk).update(pass_grade=40)
    with django_capture_on_commit_callbacks(execute=True):
        grade_record(user=enrolled, lesson=quiz, score=50)
    assert [payload for name, payload in captured if name == "grade_changed"] == [{
        "user_id": enrolled.pk, "course_id": tree.python.pk, "lesson_id": quiz.pk, "grade": "50.00", "late": False,
        "overridden": False, "course_grade": "50.00", "passed": True,
    }]


@pytest.fixture
def captured() -> Any:
    from academy.events import EVENTS

    seen: list[tuple[str, dict[str, Any]]] = []

    def capture(sender: str, payload: dict[str, Any], **kwargs: Any) -> None:
        seen.append((sender, payload))

    for name, signal in EVENTS.items():
        signal.connect(capture, weak=False, dispatch_uid=f"tests.gradebook.capture.{name}")
    yield seen
    for name, signal in EVENTS.items():
        signal.disconnect(dispatch_uid=f"tests.gradebook.capture.{name}")


# --- Overrides -----------------------------------------------------------------------------------


def test_override_is_audited_notified_and_clearable(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    teacher = course_editor("tess", tree.python)
    _submit(enrolled, quiz, HALF)
    grade = grade_override(user=enrolled, lesson=quiz.pk, override="72.5", reason="Regraded question 3", by=teacher)
    assert (grade.score, grade.override, grade.effective, grade.override_reason, grade.overridden_by) == (
        Decimal("50.00"), Decimal("72.50"), Decimal("72.50"), "Regraded question 3", teacher)
    entry = ModelLogEntry.objects.get(action="learning.grade.override")
    assert (entry.user_id, entry.data["from"], entry.data["to"], entry.data["reason"]) == (
        teacher.pk, "50.00", "72.50", "Regraded question 3")
    note = Notification.objects.get(user=enrolled, kind=Notification.Kind.GRADE_CHANGED)
    assert (note.title, note.body, note.link) == (
        "Your grade on Check yourself is now 72.5%", "Python basics: Regraded question 3", "/dashboard/grades/")
    _submit(enrolled, quiz, RIGHT)  # a new score does not undo staff's override
    assert Grade.objects.get(pk=grade.pk).effective == Decimal("72.50")
    cleared = grade_override(user=enrolled, lesson=quiz.pk, override=None, reason="Back to the quiz's", by=teacher)
    assert (cleared.override, cleared.effective, cleared.override_reason) == (None, Decimal("100.00"), "")
    assert ModelLogEntry.objects.filter(action="learning.grade.override_clear").count() == 1


def test_override_refusals_write_nothing(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    teacher = course_editor("tess", tree.python)
    other = course_editor("otto", tree.sql)
    cases = [
        ({"override": "80", "reason": "  ", "by": teacher}, 400),
        ({"override": "100.5", "reason": "x", "by": teacher}, 400),
        ({"override": "8o", "reason": "x", "by": teacher}, 400),
        ({"override": "80", "reason": "x" * 1001, "by": teacher}, 400),
        ({"override": "80", "reason": "x", "by": other}, 403),
        ({"override": "80", "reason": "x", "by": enrolled}, 403),
    ]
    for kwargs, status in cases:
        with pytest.raises(Exception) as refused:
            grade_override(user=enrolled, lesson=quiz.pk, **kwargs)
        assert refused.value.status_code == status, kwargs
    stranger = make_user("stranger")
    with pytest.raises(Exception) as missing:
        grade_override(user=stranger, lesson=quiz.pk, override="80", reason="x", by=teacher)
    assert missing.value.status_code == 404
    assert not Grade.objects.exists() and not ModelLogEntry.objects.filter(action__startswith="learning.grade").exists()


# --- My grades -----------------------------------------------------------------------------------


def test_my_grades_shows_only_my_own(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    other = make_user("grace")
    enrollment_request(user=other, course=tree.python)
    _submit(enrolled, quiz, HALF)
    _submit(other, quiz, RIGHT)
    teacher = course_editor("tess", tree.python)
    grade_override(user=enrolled, lesson=quiz.pk, override="60", reason="Partial credit", by=teacher)
    type(tree.python).objects.filter(pk=tree.python.pk).update(pass_grade=55)
    client = logged_in(enrolled)
    dashboard = client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/grades/" data-my-grades-link' in dashboard
    response = client.get("/dashboard/grades/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-grade-item="{quiz.pk}" data-state="graded"' in html
    assert "Course grade: <strong>60%</strong>" in html and "<strong data-result>passed</strong>" in html
    assert "set by staff: Partial credit" in html
    assert "100%" not in html  # grace's grade is hers
    assert client.post("/dashboard/grades/").status_code == 405
    anonymous = logged_in(other)
    anonymous.logout()
    assert anonymous.get("/dashboard/grades/").status_code == 302


def test_my_grades_queries_do_not_grow_with_courses(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    _submit(enrolled, quiz, HALF)
    gradebook.learner_gradebook(user=enrolled)  # warm the content type and activation caches
    with CaptureQueriesContext(connection) as one_course:
        assert len(gradebook.learner_gradebook(user=enrolled)) == 1
    from learning.services import enrollment_approve

    enrollment_approve(enrollment=Enrollment.objects.create(user=enrolled, course=tree.sql), by=root)
    sql_quiz = make_quiz(tree.sql, "SQL check")
    _submit(enrolled, sql_quiz, RIGHT)
    gradebook.learner_gradebook(user=enrolled)
    with CaptureQueriesContext(connection) as two_courses:
        courses = gradebook.learner_gradebook(user=enrolled)
    assert [c.grade.label for c in courses] == ["100%", "50%"]  # by course title: Databases, Python
    # The enrollments with course and cohort, the graded lessons of those courses, the grades.
    assert len(one_course.captured_queries) == len(two_courses.captured_queries) == 3
