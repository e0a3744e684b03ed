"""The gradebook's staff grid: who may open it, what it shows, sorting, the cohort filter, the
CSV and XLSX exports with the grid's columns, per-cell overrides, and a query count that does not
grow from 10 to 10,000 learners."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from learning.models import Cohort, Enrollment, Grade
from learning.services import enrollment_request
from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import course_editor, outcome, staff_member
from tests.plugins.quizzes.helpers import make_quiz

pytestmark = pytest.mark.django_db

User = get_user_model()


def _url(course: Any, **params: Any) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/admin/learning/courses/{course.pk}/gradebook/" + (f"?{query}" if query else "")


@pytest.fixture
def quizzes(tree: Tree) -> list[QuizLessonPage]:
    """Two graded quizzes in Python basics: weights 3 and 1."""
    return [make_quiz(tree.python, "Quiz one", slug="quiz-one", grade_weight=3),
            make_quiz(tree.python, "Quiz two", slug="quiz-two", grade_weight=1)]


@pytest.fixture
def teacher(tree: Tree) -> Any:
    return course_editor("tess", tree.python)


@pytest.fixture
def class_of_three(tree: Tree, quizzes: list[QuizLessonPage]) -> dict[str, Any]:
    """ada (90, 50 late: 80), bea (override 100 over 20 on quiz one, nothing on two: 100 so far),
    cy (nothing yet); ada and bea in cohort "Spring", cy in "Autumn"; pass grade 75."""
    type(tree.python).objects.filter(pk=tree.python.pk).update(pass_grade=75)
    spring = Cohort.objects.create(course=tree.python, name="Spring")
    autumn = Cohort.objects.create(course=tree.python, name="Autumn")
    people = {}
    for username, first, last, cohort in (("ada", "Ada", "Lovelace", spring), ("bea", "Bea", "Arthur", spring),
                                          ("cy", "Cy", "Young", autumn)):
        user = make_user(username, first_name=first, last_name=last)
        enrollment_request(user=user, course=tree.python)
        Enrollment.objects.filter(user=user).update(cohort=cohort)
        people[username] = user
    one, two = quizzes
    Grade.objects.create(user=people["ada"], lesson=one, course=tree.python, score=Decimal("90"))
    Grade.objects.create(user=people["ada"], lesson=two, course=tree.python, score=Decimal("50"), late=True)
    Grade.objects.create(user=people["bea"], lesson=one, course=tree.python, score=Decimal("20"),
                         override=Decimal("100"), override_reason="Regraded")
    return {**people, "spring": spring, "autumn": autumn}


def _learners(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('data-learner="')[1:]]


def test_the_grid_shows_grades_marks_course_grade_and_result(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    client = logged_in(teacher)
    response = client.get(_url(tree.python))
    html = response.content.decode()
    assert response.status_code == 200
    ada, bea, cy = (str(class_of_three[name].pk) for name in ("ada", "bea", "cy"))
    assert _learners(html) == [bea, ada, cy]  # by last name: Arthur, Lovelace, Young
    grid = response.context["grid"]
    rows = {str(row.enrollment.user_id): row for row in grid.rows}
    assert (rows[ada].grade.label, rows[ada].grade.result, rows[ada].late_items) == ("80%", "passed", [quizzes[1].pk])
    assert (rows[bea].grade.label, rows[bea].grade.pending, rows[bea].overridden_items) == ("100%", 1, [quizzes[0].pk])
    assert (rows[cy].grade.label, rows[cy].grade.result) == ("-", "")
    assert 'aria-label="late"' in html and 'title="overridden: Regraded"' in html
    assert "Course grade" in html and ">Gradebook</a>" in html  # its tab among the staff tools


def test_sorting_by_course_grade_and_by_item_and_the_cohort_filter(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    client = logged_in(teacher)
    ada, bea, cy = (str(class_of_three[name].pk) for name in ("ada", "bea", "cy"))
    assert _learners(client.get(_url(tree.python, sort="-grade")).content.decode()) == [bea, ada, cy]
    assert _learners(client.get(_url(tree.python, sort="grade")).content.decode()) == [ada, bea, cy]
    assert _learners(client.get(_url(tree.python, sort=f"item-{quizzes[1].pk}")).content.decode()) == [ada, bea, cy]
    assert _learners(client.get(_url(tree.python, sort=f"-item-{quizzes[0].pk}")).content.decode()) == [bea, ada, cy]
    assert _learners(client.get(_url(tree.python, sort="-name")).content.decode()) == [cy, ada, bea]
    assert _learners(client.get(_url(tree.python, sort="nonsense")).content.decode()) == [bea, ada, cy]
    spring = class_of_three["spring"].pk
    assert _learners(client.get(_url(tree.python, cohort=spring, sort="-grade")).content.decode()) == [bea, ada]
    assert client.get(_url(tree.python, cohort="abc")).status_code == 400
    assert client.get(_url(tree.python, p="0")).status_code == 400
    assert client.get(_url(tree.python, export="pdf")).status_code == 400
    other = Cohort.objects.create(course=tree.sql, name="Elsewhere")
    assert client.get(_url(tree.python, cohort=other.pk)).status_code == 404


def test_csv_and_xlsx_have_the_grid_columns_and_are_formula_safe(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    User.objects.filter(pk=class_of_three["cy"].pk).update(first_name='=HYPERLINK("http://evil")')
    client = logged_in(teacher)
    header = ["Learner", "Username", "Email", "Cohort", "1. Quiz one", "2. Quiz two", "Course grade", "Result", "Late",
              "Overridden"]
    response = client.get(_url(tree.python, export="csv", sort="-grade"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        header,
        ["Bea Arthur (bea)", "bea", "bea@example.com", "Spring", "100.00", "", "100.00", "passed", "", "1"],
        ["Ada Lovelace (ada)", "ada", "ada@example.com", "Spring", "90.00", "50.00", "80.00", "passed", "2", ""],
        ["'=HYPERLINK(\"http://evil\") Young (cy)", "cy", "cy@example.com", "Autumn", "", "", "", "", "", ""],
    ]
    response = client.get(_url(tree.python, export="xlsx", sort="-grade"))
    assert response["Content-Disposition"] == f'attachment; filename="course-{tree.python.pk}-gradebook.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == header
    assert values[2][:10] == ["Ada Lovelace (ada)", "ada", "ada@example.com", "Spring", 90, 50, 80, "passed", "2", None]
    assert values[3][0] == "'=HYPERLINK(\"http://evil\") Young (cy)"


def test_override_from_the_grid(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    client = logged_in(teacher)
    ada = class_of_three["ada"]
    override = f"/admin/learning/courses/{tree.python.pk}/gradebook/override/"
    back = _url(tree.python, sort="grade")
    response = client.post(override, {"learner": ada.pk, "lesson": quizzes[1].pk, "grade": "70", "reason": "Excused",
                                      "next": back})
    assert (response.status_code, response["Location"]) == (302, back)
    assert Grade.objects.get(user=ada, lesson=quizzes[1]).effective == Decimal("70.00")
    bad = [
        ({"learner": ada.pk, "lesson": quizzes[1].pk, "grade": "70", "reason": ""}, 400, "Give the reason"),
        ({"learner": ada.pk, "lesson": quizzes[1].pk, "grade": "170", "reason": "x"}, 400, "from 0 to 100"),
        ({"learner": "x", "lesson": quizzes[1].pk, "grade": "70", "reason": "x"}, 400, "Choose a learner"),
        ({"learner": ada.pk, "lesson": tree.lessons[0].pk, "grade": "70", "reason": "x"}, 404, "not a graded item"),
        ({"learner": 10**6, "lesson": quizzes[1].pk, "grade": "70", "reason": "x"}, 404, "not in the course"),
    ]
    for data, status, message in bad:
        response = client.post(override, data)
        assert (response.status_code, message in response.content.decode()) == (status, True), data
    assert Grade.objects.get(user=ada, lesson=quizzes[1]).effective == Decimal("70.00")
    assert client.get(override).status_code == 405


def test_who_may_open_the_grid_and_who_may_override(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any]
) -> None:
    viewer_only = staff_member("vic", tree.python, permissions=(("learning", "view_enrollment"),))
    other_editor = course_editor("otto", tree.sql)
    learner = class_of_three["ada"]
    assert logged_in(viewer_only).get(_url(tree.python)).status_code == 200
    assert "<summary>Override" not in logged_in(viewer_only).get(_url(tree.python)).content.decode()
    override = f"/admin/learning/courses/{tree.python.pk}/gradebook/override/"
    data = {"learner": learner.pk, "lesson": quizzes[0].pk, "grade": "10", "reason": "x"}
    assert outcome(logged_in(viewer_only).post(override, data)) == "forbidden"
    assert outcome(logged_in(other_editor).get(_url(tree.python))) == "forbidden"
    assert outcome(logged_in(other_editor).post(override, data)) == "forbidden"
    assert outcome(logged_in(learner).get(_url(tree.python))) == "login"
    assert outcome(logged_in(course_editor("tess", tree.python)).get(f"/admin/learning/courses/{10**6}/gradebook/")) == "missing"
    assert Grade.objects.get(user=learner, lesson=quizzes[0]).effective == Decimal("90.00")


# --- Query counts at 10 and 10,000 learners ------------------------------------------------------


def bulk_class(course: Any, quizzes: list[QuizLessonPage], count: int, *, start: int = 0) -> None:
    """``count`` active learners in ``course`` with a grade on every quiz (bulk inserts)."""
    users = User.objects.bulk_create([
        User(username=f"learner{start + n:05d}", email=f"l{start + n}@example.com", first_name="L",
             last_name=f"{start + n:05d}", password="!")
        for n in range(count)
    ], batch_size=2000)
    users = list(User.objects.filter(username__startswith="learner").order_by("pk")[start:start + count])
    Enrollment.objects.bulk_create([
        Enrollment(user=user, course=course, status=Enrollment.Status.ACTIVE) for user in users
    ], batch_size=2000)
    Grade.objects.bulk_create([
        Grade(user=user, lesson=quiz, course=course, score=Decimal((n * 7 + i * 13) % 101))
        for n, user in enumerate(users) for i, quiz in enumerate(quizzes)
    ], batch_size=2000)


def _queries(client: Any, url: str) -> int:
    client.get(url)  # warm per-process caches (content types, activation, restrictions)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_a_learner_placed_in_no_cohort_shows_the_default_cohort(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    """Enrollments from before cohorts count in the course's default cohort: the grid and its
    export name it rather than leaving the cell empty."""
    from learning.cohorts import default_cohort

    default = default_cohort(tree.python)
    Enrollment.objects.filter(user=class_of_three["cy"]).update(cohort=None)
    client = logged_in(teacher)
    html = client.get(_url(tree.python)).content.decode()
    row = html.split(f'data-learner="{class_of_three["cy"].pk}"')[1].split("</tr>")[0]
    assert f"<td>{default.name}</td>" in row
    response = client.get(_url(tree.python, export="csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row[1]: row[3] for row in rows[1:]} == {"ada": "Spring", "bea": "Spring", "cy": default.name}


def test_the_grid_costs_the_same_queries_at_10_and_10000_learners(
    tree: Tree, quizzes: list[QuizLessonPage], teacher: Any
) -> None:
    client = logged_in(teacher)
    urls = [_url(tree.python), _url(tree.python, sort="-grade"), _url(tree.python, sort=f"item-{quizzes[0].pk}")]
    bulk_class(tree.python, quizzes, 10)
    at_10 = [_queries(client, url) for url in urls]
    bulk_class(tree.python, quizzes, 9_990, start=10)
    assert Enrollment.objects.filter(course=tree.python).count() == 10_000
    at_10000 = [_queries(client, url) for url in urls]
    print("GRIDQUERIES", at_10, at_10000)
    assert at_10 == at_10000
    # The session and user, the staff rule's page grants, the items, the count (by name or item)
    # or every enrollment and grade (by course grade), the page, its grades, the cohorts, and the
    # staff links' checks of the tabs: the same numbers whatever the class size.
    assert at_10000[0] == at_10000[2]


def test_sorting_by_course_grade_with_due_dates_counts_missing_grades_once_due(
    tree: Tree, quizzes: list[QuizLessonPage], class_of_three: dict[str, Any], teacher: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from courses.models import DueRule, LessonPage

    LessonPage.objects.filter(pk=quizzes[1].pk).update(due_rule=DueRule.FIXED, due_at=timezone.now() - timedelta(days=1))
    client = logged_in(teacher)
    ada, bea, cy = (str(class_of_three[name].pk) for name in ("ada", "bea", "cy"))
    # bea's missing quiz two now counts 0: (3*100 + 0) / 4 = 75; cy's both: 0.
    response = client.get(_url(tree.python, sort="-grade"))
    assert _learners(response.content.decode()) == [ada, bea, cy]
    assert [row.grade.label for row in response.context["grid"].rows] == ["80%", "75%", "0%"]
    assert _learners(client.get(_url(tree.python, sort="grade")).content.decode()) == [cy, bea, ada]
