"""Learners in no cohort (enrolled before cohorts existed) count as the default cohort's: the
Gradebook's, the Due dates' and the staff API's cohort filters keep them with the default cohort, as the Learners
list does (``learning.cohorts.cohort_enrollment_filter``), and no other cohort's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from courses.models import DueRule
from learning import access, cohorts
from learning.date_staff_views import course_due_report
from learning.gradebook import course_grid
from learning.models import Cohort, Enrollment
from tests.courses.helpers import Tree, make_lesson
from tests.learning.api.conftest import token_client
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import make_quiz

pytestmark = pytest.mark.django_db


def test_learners_in_no_cohort_are_filtered_with_the_default_cohort(tree: Tree) -> None:
    now = timezone.now()
    make_quiz(tree.python)
    essay = make_lesson(tree.python, "Essay", slug="essay", due_rule=DueRule.AFTER_ENROLLMENT, due_days=1)
    default = cohorts.default_cohort(tree.python)
    spring = Cohort.objects.create(course=tree.python, name="Spring")
    legacy, placed, other = make_user("legacy"), make_user("placed"), make_user("other")
    Enrollment.objects.bulk_create([
        Enrollment(user=legacy, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=None),
        Enrollment(user=placed, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=default),
        Enrollment(user=other, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=spring),
    ])
    who = access.viewer(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))

    def grid_names(cohort_id: int | None) -> list[str]:
        grid = course_grid(course=tree.python, who=who, cohort_id=cohort_id)
        return [row.enrollment.user.username for row in grid.rows]

    assert grid_names(None) == ["legacy", "other", "placed"]
    assert grid_names(default.pk) == ["legacy", "placed"]
    assert grid_names(spring.pk) == ["other"]
    assert course_grid(course=tree.python, who=who, cohort_id=default.pk).count == 2

    def due_names(cohort_id: int | None) -> list[str]:
        (entry,) = course_due_report(who=who, course=tree.python, now=now + timedelta(days=2), cohort_id=cohort_id)
        assert entry.lesson_id == essay.pk
        return sorted(row.name for row in entry.overdue)

    assert due_names(None) == ["legacy", "other", "placed"]
    assert due_names(default.pk) == ["legacy", "placed"]
    assert due_names(spring.pk) == ["other"]


def test_the_staff_api_cohort_filter_keeps_learners_in_no_cohort_with_the_default(tree: Tree, staff: Any) -> None:
    now = timezone.now()
    default = cohorts.default_cohort(tree.python)
    spring = Cohort.objects.create(course=tree.python, name="Spring")
    legacy, placed, other = make_user("legacy"), make_user("placed"), make_user("other")
    Enrollment.objects.bulk_create([
        Enrollment(user=legacy, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=None),
        Enrollment(user=placed, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=default),
        Enrollment(user=other, course=tree.python, status=Enrollment.Status.ACTIVE, activated_at=now, cohort=spring),
    ])
    client = token_client(staff)
    url = f"/api/v1/courses/{tree.python.pk}/enrollments/"

    def listed(cohort: Cohort) -> set[int]:
        response = client.get(url, {"cohort": cohort.pk})
        assert response.status_code == 200
        return {row["user"]["id"] for row in response.json()["results"]}

    assert listed(default) == {legacy.pk, placed.pk}
    assert listed(spring) == {other.pk}
