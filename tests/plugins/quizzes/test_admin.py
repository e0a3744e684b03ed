"""Staff read quiz results in the Wagtail admin: per quiz, per learner, and as a safe CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from learning.services import enrollment_approve, enrollment_request
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from plugins.quizzes.services import quiz_attempt_start, quiz_attempt_submit
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import course_editor, course_role, outcome, staff_member
from tests.plugins.quizzes.helpers import RIGHT, WRONG, make_quiz

pytestmark = pytest.mark.django_db

RESULTS = "/admin/quizzes/quizattempt/"


def _attempt(user: Any, quiz: QuizLessonPage, answers: dict[str, Any]) -> QuizAttempt:
    attempt = quiz_attempt_start(user=user, quiz=quiz.pk).attempt
    quiz_attempt_submit(user=user, attempt=attempt.pk, answers=answers)
    return QuizAttempt.objects.get(pk=attempt.pk)


def results_reader(username: str, *courses: Any) -> Any:
    """Admin access and the permission to read quiz results (nothing on enrollments), in a group
    that may edit ``courses`` (Wagtail page permissions; none when no course is given)."""
    return staff_member(
        username, *courses, permissions=(("quizzes", "view_quizattempt"),), group_name=f"Quiz readers {username}",
        is_staff=True,
    )


@pytest.fixture
def staff(tree: Tree) -> Any:
    """Reads quiz results and edits Python basics (the course of the ``quiz`` fixture)."""
    return results_reader("sam", tree.python)


@pytest.fixture
def two_courses(enrolled: Any, tree: Tree, quiz: QuizLessonPage) -> dict[str, QuizAttempt]:
    """An attempt in Python basics (course A, ``quiz``) and one at a quiz of Databases with SQL
    (course B, where ada's enrollment was approved)."""
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    enrollment_approve(enrollment=enrollment_request(user=enrolled, course=tree.sql).enrollment, by=root)
    return {
        "a": _attempt(enrolled, quiz, RIGHT),
        "b": _attempt(enrolled, make_quiz(tree.sql, title="SQL check"), WRONG),
    }


def _seen(client: Any) -> dict[str, Any]:
    """What a client reads of the results: attempt ids in the list, (quiz, course) of the CSV
    rows, and the choices of the quiz and course filters (Django leaves out a filter with a
    single choice)."""
    listing = client.get(RESULTS)
    html = listing.content.decode()
    response = client.get(RESULTS, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return {
        "listed": sorted(pk for pk in QuizAttempt.objects.values_list("pk", flat=True) if f"inspect/{pk}/" in html),
        "exported": sorted((row[2], row[3]) for row in rows[1:]),
        "filters": {
            spec.field_path: [title for _pk, title in spec.lookup_choices]
            for spec in listing.context["view"].filter_specs if spec.field_path in ("quiz", "course")
        },
    }


def test_results_per_quiz_and_learner_export_formula_safe_csv(
    enrolled: Any, tree: Tree, quiz: QuizLessonPage, staff: Any
) -> None:
    mallory = make_user("mallory", first_name="=HYPERLINK(\"http://evil\")", last_name="x")
    enrollment_request(user=mallory, course=tree.python)
    _attempt(enrolled, quiz, WRONG)
    _attempt(enrolled, quiz, RIGHT)
    _attempt(mallory, quiz, WRONG)
    client = logged_in(staff)
    listing = client.get(RESULTS, {"quiz": quiz.pk, "q": "ada"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert html.count("100% (4 of 4)") == 1 and html.count("0% (0 of 4)") == 1
    response = client.get(RESULTS, {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Learner", "Email", "Quiz", "Course", "Number", "Points", "Max Points", "Percent", "Result",
        "Started At", "Submitted At",
    ]
    body = sorted(row[:9] for row in rows[1:])
    assert body == [
        ["'=HYPERLINK(\"http://evil\") x (mallory)", "mallory@example.com", "Check yourself", "Python basics",
         "1", "0", "4", "0.00", "not passed"],
        ["ada", "ada@example.com", "Check yourself", "Python basics", "1", "0", "4", "0.00", "not passed"],
        ["ada", "ada@example.com", "Check yourself", "Python basics", "2", "4", "4", "100.00", "passed"],
    ]


def test_results_are_not_for_learners_or_editors_without_permission(
    enrolled: Any, quiz: QuizLessonPage
) -> None:
    _attempt(enrolled, quiz, RIGHT)
    assert logged_in(enrolled).get(RESULTS).status_code == 302  # to the admin's login
    editor = make_user("eve")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin"))
    assert logged_in(editor).get(RESULTS, {"export": "csv"}).status_code in (302, 403)


def test_a_bad_filter_returns_to_the_list(staff: Any, quiz: QuizLessonPage) -> None:
    response = logged_in(staff).get(RESULTS, {"quiz": "abc"})
    assert response.status_code == 302
    assert response["Location"] == RESULTS


def test_results_are_those_of_the_courses_the_reader_edits(tree: Tree, two_courses: dict[str, QuizAttempt]) -> None:
    a, b = two_courses["a"], two_courses["b"]
    reader = results_reader("rob", tree.python)
    client = logged_in(reader)
    assert _seen(client) == {
        "listed": [a.pk],
        "exported": [("Check yourself", "Python basics")],
        "filters": {"course": ["Python basics"]},  # one quiz: Django shows no quiz filter
    }
    assert outcome(client.get(f"{RESULTS}inspect/{a.pk}/")) == "ok"
    assert outcome(client.get(f"{RESULTS}inspect/{b.pk}/")) == "forbidden"
    assert client.get(RESULTS, {"quiz": b.quiz_id}).content.decode().count("inspect/") == 0


def test_progress_report_readers_see_the_results_of_their_courses_only(
    tree: Tree, two_courses: dict[str, QuizAttempt]
) -> None:
    """The other permission that reads results (on enrollments) follows the same rule."""
    client = logged_in(course_editor("bruno_editor", tree.sql))
    assert _seen(client)["exported"] == [("SQL check", "Databases with SQL")]
    assert outcome(client.get(f"{RESULTS}inspect/{two_courses['a'].pk}/")) == "forbidden"
    assert outcome(client.get(f"{RESULTS}inspect/{two_courses['b'].pk}/")) == "ok"


def test_a_reader_who_edits_no_course_sees_no_results(tree: Tree, two_courses: dict[str, QuizAttempt]) -> None:
    client = logged_in(results_reader("nina"))
    assert client.get(RESULTS).status_code == 200
    assert _seen(client) == {"listed": [], "exported": [], "filters": {}}
    for attempt in two_courses.values():
        assert outcome(client.get(f"{RESULTS}inspect/{attempt.pk}/")) == "forbidden"


def test_superusers_and_editors_of_the_whole_catalog_see_every_course(
    tree: Tree, two_courses: dict[str, QuizAttempt]
) -> None:
    a, b = two_courses["a"], two_courses["b"]
    everything = {
        "listed": sorted([a.pk, b.pk]),
        "exported": [("Check yourself", "Python basics"), ("SQL check", "Databases with SQL")],
        "filters": {"quiz": ["Check yourself", "SQL check"], "course": ["Databases with SQL", "Python basics"]},
    }
    root = get_user_model().objects.get(username="root")
    for user in (root, results_reader("cat", tree.catalog)):
        client = logged_in(user)
        assert _seen(client) == everything
        assert [outcome(client.get(f"{RESULTS}inspect/{attempt.pk}/")) for attempt in (a, b)] == ["ok", "ok"]


def test_a_cohort_assistant_reads_the_results_of_their_cohort_only(
    enrolled: Any, tree: Tree, quiz: QuizLessonPage
) -> None:
    """Quiz results are learners' work: a role limited to one cohort reads that cohort's
    attempts (list, CSV, item analysis, each attempt), as the learner list does; a teacher of
    the whole course reads everyone's."""
    from learning import cohorts, services

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    autumn = cohorts.cohort_create(course=tree.python, by=root, name="Autumn")
    carl = make_user("carl")
    services.enrollment_add(user=carl, course=tree.python, by=root, cohort=autumn)
    mine, theirs = _attempt(carl, quiz, RIGHT), _attempt(enrolled, quiz, WRONG)  # ada: default cohort
    assistant = logged_in(course_role("ann", tree.python, "assistant", cohort=autumn))
    assert _seen(assistant)["listed"] == [mine.pk]
    assert [outcome(assistant.get(f"{RESULTS}inspect/{attempt.pk}/")) for attempt in (mine, theirs)] == ["ok", "forbidden"]
    listing = assistant.get(RESULTS, {"quiz__id__exact": quiz.pk})
    analysis = listing.context["analysis"]
    assert {row.attempts for row in analysis} == {1}
    teacher = logged_in(course_role("terry", tree.python, "teacher"))
    assert _seen(teacher)["listed"] == sorted([mine.pk, theirs.pk])


def test_item_analysis_per_question_in_a_fixed_number_of_queries(
    enrolled: Any, tree: Tree, quiz: QuizLessonPage, staff: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    grace = make_user("grace")
    enrollment_request(user=grace, course=tree.python)
    _attempt(enrolled, quiz, WRONG)  # lyon, two only, "nope", 41
    _attempt(enrolled, quiz, RIGHT)
    _attempt(grace, quiz, {**WRONG, "q-short": "  NOPE ", "q-multi": ["c-two", "c-three", "c-four"]})
    client = logged_in(staff)
    url = f"{RESULTS}?quiz__id__exact={quiz.pk}"
    response = client.get(url)
    rows = {row.id: row for row in response.context["analysis"]}
    assert list(rows) == ["q-single", "q-multi", "q-short", "q-number"]
    assert [(r.attempts, r.right, r.share_right_label, r.top_wrong, r.top_wrong_count) for r in rows.values()] == [
        (3, 1, "33.33%", "Lyon", 2),
        (3, 1, "33.33%", "Two", 1),  # a tie: the wrong answer seen first
        (3, 1, "33.33%", "nope", 2),  # short answers compared as graded (case and spaces folded)
        (3, 1, "33.33%", "41", 2),
    ]
    html = response.content.decode()
    assert f'data-item-analysis="{quiz.pk}"' in html and "Lyon (2)" in html
    assert "data-item-analysis-hint" in client.get(RESULTS).content.decode()
    with CaptureQueriesContext(connection) as three:
        client.get(url)
    for n in range(5):
        other = make_user(f"extra{n}")
        enrollment_request(user=other, course=tree.python)
        _attempt(other, quiz, RIGHT)
    with CaptureQueriesContext(connection) as eight:
        response = client.get(url)
    assert response.context["analysis"][0].attempts == 8
    assert len(three.captured_queries) == len(eight.captured_queries)
    # Someone who may not read this course's results gets no analysis of its quiz.
    outsider = results_reader("olga", tree.sql)
    assert logged_in(outsider).get(url).context["analysed_quiz"] is None
