"""The access policy's "not yet open" (drip release) and every door that asks it.

The policy takes the moment ``now``: the unit tests inject it. The doors (pages, API, forms,
files, search, quizzes) run at the real time, so their worlds put the learner's start where the
case needs it (enrolled now: the lesson opens in two days; enrolled three days ago: open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from wagtail.documents import get_document_model

from courses import routing
from courses.models import CoursePage, LessonPage, ReleaseRule
from learning import access, schedule, services
from learning.models import Cohort, Enrollment, LessonProgress
from tests.courses.helpers import Tree, logged_in, make_course, make_lesson
from tests.learning.conftest import make_user

MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.get_default_timezone())


@dataclass
class Drip:
    """A course whose second lesson opens two days after the start, the third after the second."""

    course: CoursePage
    intro: LessonPage
    week_two: LessonPage
    week_three: LessonPage
    document: Any
    learner: Any
    enrollment: Enrollment


def build_drip(tree: Tree, *, enrolled_at: datetime) -> Drip:
    document = get_document_model().objects.create(
        title="Week two sheet", file=ContentFile(b"answers", name="week-two.txt")
    )
    course = make_course(tree.catalog, "Drip course", slug="drip-course")
    intro = make_lesson(course, "Intro", slug="intro")
    week_two = make_lesson(
        course, "Week two", slug="week-two", release_rule=ReleaseRule.AFTER_START, release_days=2,
        body=[
            {"type": "paragraph", "value": "<p>Secret zetadrip inside.</p>"},
            {"type": "download", "value": {"document": document.pk, "title": "", "description": ""}},
        ],
    )
    week_three = make_lesson(course, "Week three", slug="week-three", release_rule=ReleaseRule.AFTER_PREVIOUS)
    learner = make_user("dora")
    enrollment = Enrollment.objects.create(
        user=learner, course=course, status=Enrollment.Status.ACTIVE, activated_at=enrolled_at
    )
    return Drip(course, intro, week_two, week_three, document, learner, enrollment)


@pytest.fixture
def drip(tree: Tree, django_capture_on_commit_callbacks: Any) -> Drip:
    with django_capture_on_commit_callbacks(execute=True):
        return build_drip(tree, enrolled_at=MOMENT)


def lesson_access_at(drip: Drip, user: Any, lesson: LessonPage, now: datetime) -> access.CourseAccess:
    return access.lesson_access(access.viewer(user), lesson, course_id=drip.course.pk, now=now)


# --- The rule, with an injected clock ------------------------------------------------------------


def test_lesson_opens_n_days_after_the_learners_start(drip: Drip) -> None:
    opens = MOMENT + timedelta(days=2)
    before = lesson_access_at(drip, drip.learner, drip.week_two, opens - timedelta(seconds=1))
    assert (before.can_read, before.can_record_progress, before.enrolled, before.visible) == (False, False, True, True)
    assert before.not_open == access.NotOpen(opens_at=opens)
    assert before.opens_at == opens
    at = lesson_access_at(drip, drip.learner, drip.week_two, opens)
    assert (at.can_read, at.can_record_progress, at.not_open) == (True, True, None)
    intro = lesson_access_at(drip, drip.learner, drip.intro, MOMENT)
    assert (intro.can_read, intro.not_open) == (True, None)


def test_lesson_after_the_previous_waits_for_its_completion(drip: Drip) -> None:
    later = MOMENT + timedelta(days=30)
    waiting = lesson_access_at(drip, drip.learner, drip.week_three, later)
    assert waiting.not_open == access.NotOpen(
        opens_at=None, after_lesson_id=drip.week_two.pk, after_lesson_title="Week two"
    )
    assert waiting.not_open.message == "This lesson opens after you complete \u201cWeek two\u201d."
    done = MOMENT + timedelta(days=3)
    LessonProgress.objects.create(user=drip.learner, lesson=drip.week_two, course=drip.course, completed_at=done)
    assert lesson_access_at(drip, drip.learner, drip.week_three, done).can_read is True


def test_cohort_start_is_the_learners_start(drip: Drip) -> None:
    cohort = Cohort.objects.create(course=drip.course, name="Spring", starts_on=date(2026, 4, 1))
    Enrollment.objects.filter(pk=drip.enrollment.pk).update(cohort=cohort)
    opens = schedule.start_of_day(date(2026, 4, 1)) + timedelta(days=2)
    assert lesson_access_at(drip, drip.learner, drip.week_two, MOMENT + timedelta(days=5)).opens_at == opens
    assert lesson_access_at(drip, drip.learner, drip.week_two, opens).can_read is True


def test_staff_editors_and_visitors_are_not_held_back(drip: Drip, editor: Any, staff: Any) -> None:
    Enrollment.objects.create(user=staff, course=drip.course, status=Enrollment.Status.ACTIVE, activated_at=MOMENT)
    for user in (editor, staff):
        found = lesson_access_at(drip, user, drip.week_two, MOMENT)
        assert (found.can_read, found.not_open) == (True, None)
    outsider = lesson_access_at(drip, make_user("nobody"), drip.week_two, MOMENT)
    assert (outsider.can_read, outsider.not_open) == (False, None)  # not enrolled: the old answer


def test_not_open_costs_nothing_without_a_release_rule(
    drip: Drip, tree: Tree, django_assert_num_queries: Any
) -> None:
    who = access.viewer(drip.learner)
    access.lesson_not_open(who, lesson_id=drip.intro.pk, course_id=drip.course.pk, course_path=drip.course.path)
    routing.forget_tree()  # the plugin activation table and content types stay read
    with django_assert_num_queries(1):  # the course's date rules, cold
        assert access.lesson_not_open(
            who, lesson_id=drip.intro.pk, course_id=drip.course.pk, course_path=drip.course.path, now=MOMENT
        ) is None
    with django_assert_num_queries(0):  # cached; the lesson has no release rule
        assert access.lesson_not_open(
            who, lesson_id=drip.intro.pk, course_id=drip.course.pk, course_path=drip.course.path, now=MOMENT
        ) is None
    # The enrollment with its cohort, the completions; closed: the user's permissions (two, once:
    # staff are never held back).
    with django_assert_num_queries(4):
        assert access.lesson_not_open(
            who, lesson_id=drip.week_two.pk, course_id=drip.course.pk, course_path=drip.course.path, now=MOMENT
        ) is not None
    routing.forget_tree()
    with django_assert_num_queries(1):  # a course with no rule at all: its rules, then nothing
        assert access.lesson_not_open(
            who, lesson_id=tree.lessons[0].pk, course_id=tree.python.pk, course_path=tree.python.path, now=MOMENT
        ) is None


def test_progress_service_refuses_a_lesson_not_open(drip: Drip) -> None:
    with pytest.raises(services.LessonNotOpen) as refused:
        services.lesson_progress_record(user=drip.learner, lesson=drip.week_two.pk, now=MOMENT)
    assert (refused.value.status_code, refused.value.details) == (
        403, {"opens_at": (MOMENT + timedelta(days=2)).isoformat(), "after_lesson_id": None},
    )
    assert not LessonProgress.objects.filter(user=drip.learner).exists()
    with pytest.raises(services.LessonNotOpen):
        services.lesson_progress_record(user=drip.learner, lesson=drip.week_two.pk, completed=False, position=5, now=MOMENT)
    with pytest.raises(services.LessonNotOpen):
        services.lesson_require_open(user=drip.learner, lesson=drip.week_three, now=MOMENT + timedelta(days=9))
    done = MOMENT + timedelta(days=2)
    assert services.lesson_progress_record(user=drip.learner, lesson=drip.week_two.pk, now=done).newly_completed
    assert services.lesson_progress_record(user=drip.learner, lesson=drip.week_three.pk, now=done).newly_completed


# --- The doors, at the real time -----------------------------------------------------------------


@pytest.fixture
def live_drip(tree: Tree, django_capture_on_commit_callbacks: Any) -> Drip:
    """Enrolled a minute ago: week two opens in two days."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_drip(tree, enrolled_at=timezone.now() - timedelta(minutes=1))


def doors(drip: Drip, user: Any) -> dict[str, Any]:
    """What each door answers ``user`` about week two."""
    client = logged_in(user)
    page = client.get("/courses/drip-course/week-two/")
    api = client.get(f"/api/v1/lessons/{drip.week_two.pk}/")
    search = client.get("/courses/", {"q": "zetadrip"})
    document = client.get(drip.document.url)
    form = client.post("/learning/progress/", {"lesson_id": drip.week_two.pk})
    api_progress = client.post(
        "/api/v1/progress/", {"lesson_id": drip.week_two.pk}, content_type="application/json",
    )
    html = page.content.decode()
    return {
        "page": (page.status_code, "zetadrip" in html, "Opens on" in html),
        "api": api.status_code,
        "search": "Drip course" in search.content.decode(),
        "document": document.status_code,
        "form": form.status_code,
        "api_progress": api_progress.status_code,
    }


def test_every_door_says_not_yet_open(live_drip: Drip) -> None:
    assert doors(live_drip, live_drip.learner) == {
        "page": (200, False, True), "api": 403, "search": False, "document": 403, "form": 403, "api_progress": 403,
    }
    body = logged_in(live_drip.learner).get(f"/api/v1/lessons/{live_drip.week_two.pk}/").json()["error"]
    opens = Enrollment.objects.get(pk=live_drip.enrollment.pk).activated_at + timedelta(days=2)
    assert (body["code"], body["opens_at"], body["after_lesson_id"]) == ("lesson_not_open", opens.isoformat(), None)
    week_three = logged_in(live_drip.learner).get("/courses/drip-course/week-three/").content.decode()
    assert "Opens after you complete “Week two”." in week_three
    assert 'data-lesson-state="not-open"' in week_three


def test_every_door_opens_on_the_day(live_drip: Drip) -> None:
    Enrollment.objects.filter(pk=live_drip.enrollment.pk).update(activated_at=timezone.now() - timedelta(days=3))
    assert doors(live_drip, live_drip.learner) == {
        "page": (200, True, False), "api": 200, "search": True, "document": 200, "form": 302, "api_progress": 200,
    }


def test_staff_pass_every_door_before_the_day(live_drip: Drip, editor: Any) -> None:
    Enrollment.objects.create(user=editor, course=live_drip.course, status=Enrollment.Status.ACTIVE,
                              activated_at=timezone.now())
    found = doors(live_drip, editor)
    assert (found["page"], found["api"], found["search"], found["document"]) == ((200, True, False), 200, True, 200)


def test_a_quiz_not_yet_open_cannot_be_started(live_drip: Drip) -> None:
    from plugins.quizzes import services as quiz_services
    from tests.plugins.quizzes.helpers import make_quiz

    quiz = make_quiz(live_drip.course, "Week quiz", slug="week-quiz", release_rule=ReleaseRule.AFTER_START, release_days=2)
    with pytest.raises(services.LessonNotOpen):
        quiz_services.quiz_attempt_start(user=live_drip.learner, quiz=quiz.pk)
    Enrollment.objects.filter(pk=live_drip.enrollment.pk).update(activated_at=timezone.now() - timedelta(days=3))
    assert quiz_services.quiz_attempt_start(user=live_drip.learner, quiz=quiz.pk).created is True
