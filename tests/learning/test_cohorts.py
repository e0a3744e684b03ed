"""Cohorts and course roles: the default cohort, placement, moves, cohort and role services, the
role matrix (teacher, assistant, assistant of one cohort) on every staff door, and the rule that
a role never makes its holder a privileged reader of other courses."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from learning import access, cohorts, messaging, services, staff_selectors
from learning.models import Cohort, CourseMessage, CourseRole, Enrollment
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import course_editor, course_role

pytestmark = pytest.mark.django_db


def learners_url(course: Any, **query: Any) -> str:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/admin/learning/courses/{course.pk}/learners/" + (f"?{suffix}" if suffix else "")


def staff_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/staff/"


def cohorts_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/cohorts/"


@pytest.fixture
def term(tree: Tree, staff: Any) -> dict[str, Any]:
    """Python basics with a default cohort (ada, bob self-enrolled) and "Autumn" (carl, dora
    placed by staff); a teacher of Autumn only and an assistant of the default cohort only."""
    ada, bob, carl, dora = (make_user(name) for name in ("ada", "bob", "carl", "dora"))
    services.enrollment_request(user=ada, course=tree.python)
    services.enrollment_request(user=bob, course=tree.python)
    autumn = cohorts.cohort_create(course=tree.python, by=staff, name="Autumn", starts_on=date(2026, 9, 1))
    for user in (carl, dora):
        services.enrollment_add(user=user, course=tree.python, by=staff, cohort=autumn)
    default = cohorts.default_cohort(tree.python)
    return {
        "default": default, "autumn": autumn, "ada": ada, "bob": bob, "carl": carl, "dora": dora,
        "autumn_teacher": course_role("terry", tree.python, "teacher", cohort=autumn),
        "default_assistant": course_role("ann", tree.python, "assistant", cohort=default),
        "enrollment": {e.user.username: e for e in Enrollment.objects.select_related("user", "course", "cohort")},
    }


# --- The default cohort and placement ------------------------------------------------------------


def test_default_cohort_is_made_once_and_self_enrollment_goes_there(tree: Tree, learner: Any) -> None:
    assert not Cohort.objects.exists()
    result = services.enrollment_request(user=learner, course=tree.python)
    default = Cohort.objects.get(course=tree.python)
    assert (default.name, default.is_default, result.enrollment.cohort_id) == ("Open enrollment", True, default.pk)
    assert cohorts.default_cohort(tree.python) == default
    assert cohorts.default_cohort(tree.python.pk) == default
    assert Cohort.objects.count() == 1


def test_default_cohort_takes_another_name_when_staff_used_it(tree: Tree, staff: Any) -> None:
    cohorts.cohort_create(course=tree.python, by=staff, name="Open enrollment")
    made = cohorts.default_cohort(tree.python)
    assert (made.name, made.is_default) == ("Open enrollment (2)", True)


def test_a_concurrent_default_cohort_wins_and_is_read(tree: Tree) -> None:
    """The losing side of the race: the constraint refuses a second default, the winner is read."""
    winner = Cohort.objects.create(course=tree.python, name="Winner", is_default=True)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Cohort.objects.create(course=tree.python, name="Loser", is_default=True)
    assert cohorts.default_cohort(tree.python) == winner


def test_enrollments_in_no_cohort_count_as_the_default_cohorts(tree: Tree, staff: Any, learner: Any) -> None:
    legacy = Enrollment.objects.create(user=learner, course=tree.python, status=Enrollment.Status.ACTIVE)
    default = cohorts.default_cohort(tree.python)
    assert cohorts.cohort_of(legacy) == default
    [summary] = cohorts.cohort_summaries(course=tree.python)
    assert (summary.cohort, summary.learners, summary.enrollments) == (default, 1, 1)
    assistant = course_role("ann", tree.python, "assistant", cohort=default)
    assert list(Enrollment.objects.filter(access.staff_enrollment_filter(access.viewer(assistant)))) == [legacy]


def test_staff_place_in_a_chosen_cohort_of_that_course_only(tree: Tree, staff: Any, learner: Any) -> None:
    autumn = cohorts.cohort_create(course=tree.python, by=staff, name="Autumn")
    elsewhere = cohorts.cohort_create(course=tree.sql, by=staff, name="Elsewhere")
    with pytest.raises(services.InvalidInput) as refused:
        services.enrollment_add(user=learner, course=tree.python, by=staff, cohort=elsewhere)
    assert refused.value.message == "Choose a cohort of this course."
    assert not Enrollment.objects.exists()
    result = services.enrollment_add(user=learner, course=tree.python, by=staff, cohort=autumn.pk)
    assert result.enrollment.cohort_id == autumn.pk


def test_making_another_cohort_the_default_keeps_unplaced_learners_where_they_were(
    tree: Tree, staff: Any, learner: Any
) -> None:
    legacy = Enrollment.objects.create(user=learner, course=tree.python, status=Enrollment.Status.ACTIVE)
    old = cohorts.default_cohort(tree.python)
    new = cohorts.cohort_create(course=tree.python, by=staff, name="Summer", is_default=True)
    legacy.refresh_from_db()
    old.refresh_from_db()
    assert (legacy.cohort_id, old.is_default, new.is_default) == (old.pk, False, True)


# --- Cohort services ------------------------------------------------------------------------------


def test_cohort_dates_and_names_are_validated(tree: Tree, staff: Any) -> None:
    with pytest.raises(services.InvalidInput, match="cannot end before it starts"):
        cohorts.cohort_create(course=tree.python, by=staff, name="Bad", starts_on=date(2026, 5, 2), ends_on=date(2026, 5, 1))
    with pytest.raises(services.InvalidInput, match="1 to 100 characters"):
        cohorts.cohort_create(course=tree.python, by=staff, name="   ")
    cohorts.cohort_create(course=tree.python, by=staff, name="Spring")
    with pytest.raises(services.Conflict) as duplicate:
        cohorts.cohort_create(course=tree.python, by=staff, name="Spring")
    assert duplicate.value.status_code == 409
    assert list(Cohort.objects.values_list("name", flat=True)) == ["Spring"]


def test_a_cohort_with_learners_is_not_deleted(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    with pytest.raises(services.Conflict) as refused:
        cohorts.cohort_delete(cohort=term["autumn"], by=staff)
    assert refused.value.message == (
        "“Autumn” still has 2 learners (cancelled enrollments included); move them to another cohort first."
    )
    response = logged_in(staff).post(f"{cohorts_url(tree.python)}{term['autumn'].pk}/delete/", follow=True)
    assert response.status_code == 200 and "still has 2 learners" in response.content.decode()
    assert Cohort.objects.filter(pk=term["autumn"].pk).exists()
    empty = cohorts.cohort_create(course=tree.python, by=staff, name="Empty")
    cohorts.cohort_delete(cohort=empty, by=staff)
    assert not Cohort.objects.filter(pk=empty.pk).exists()


def test_cohort_forms_answer_bad_input_with_a_400(tree: Tree, staff: Any) -> None:
    client = logged_in(staff)
    bad_date = client.post(f"{cohorts_url(tree.python)}add/", {"name": "X", "starts_on": "2026-13-40"})
    assert bad_date.status_code == 400 and "Enter a valid date" in bad_date.content.decode()
    backwards = client.post(f"{cohorts_url(tree.python)}add/", {"name": "X", "starts_on": "2026-05-02", "ends_on": "2026-05-01"})
    assert backwards.status_code == 400 and "cannot end before it starts" in backwards.content.decode()
    ok = client.post(f"{cohorts_url(tree.python)}add/", {"name": "Spring", "starts_on": "2026-03-01"})
    assert ok.status_code == 302
    spring = Cohort.objects.get(name="Spring")
    assert spring.starts_on == date(2026, 3, 1)
    duplicate = client.post(f"{cohorts_url(tree.python)}add/", {"name": "Spring"})
    assert duplicate.status_code == 409
    edited = client.post(f"{cohorts_url(tree.python)}{spring.pk}/", {"name": "Spring term", "ends_on": "2026-06-30"})
    spring.refresh_from_db()
    assert edited.status_code == 302 and (spring.name, spring.starts_on, spring.ends_on) == ("Spring term", None, date(2026, 6, 30))
    assert client.get(f"{cohorts_url(tree.sql)}{spring.pk}/").status_code == 404


def test_cohorts_screen_lists_dates_counts_and_staff(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    html = logged_in(staff).get(cohorts_url(tree.python)).content.decode()
    autumn_row = html[html.index(f'data-cohort="{term["autumn"].pk}"'):]
    autumn_row = autumn_row[: autumn_row.index("</tr>")]
    assert "2026-09-01" in autumn_row and '<td data-learner-count>2</td>' in autumn_row
    assert "terry" in html and "ann" in html and "Give role" in html


# --- Moves ----------------------------------------------------------------------------------------


def test_moving_a_learner_is_audited(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    ada = term["enrollment"]["ada"]
    result = cohorts.enrollment_move(enrollment=ada.pk, cohort=term["autumn"].pk, by=staff)
    assert (result.changed, result.enrollment.cohort_id) == (True, term["autumn"].pk)
    entry = ModelLogEntry.objects.get(action="learning.enrollment.move")
    assert (entry.user, entry.object_id, entry.data["from_cohort"], entry.data["to_cohort"]) == (
        staff, str(ada.pk), "Open enrollment", "Autumn",
    )
    again = cohorts.enrollment_move(enrollment=ada.pk, cohort=term["autumn"].pk, by=staff)
    assert again.changed is False and ModelLogEntry.objects.filter(action="learning.enrollment.move").count() == 1
    timeline = staff_selectors.learner_timeline(enrollment=Enrollment.objects.get(pk=ada.pk))
    assert [entry.what for entry in timeline if entry.what.startswith("Moved")] == ["Moved to another cohort"]


def test_moves_stay_within_the_course_and_the_movers_cohorts(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    other = cohorts.cohort_create(course=tree.sql, by=staff, name="SQL spring")
    with pytest.raises(services.InvalidInput):
        cohorts.enrollment_move(enrollment=term["enrollment"]["ada"].pk, cohort=other.pk, by=staff)
    teacher = term["autumn_teacher"]
    with pytest.raises(services.Forbidden):  # ada is not in the teacher's cohort
        cohorts.enrollment_move(enrollment=term["enrollment"]["ada"].pk, cohort=term["autumn"].pk, by=teacher)
    with pytest.raises(services.Forbidden):  # nor is the default cohort theirs to move carl to
        cohorts.enrollment_move(enrollment=term["enrollment"]["carl"].pk, cohort=term["default"].pk, by=teacher)
    with pytest.raises(services.Forbidden):  # assistants do not move learners
        cohorts.enrollment_move(enrollment=term["enrollment"]["ada"].pk, cohort=term["autumn"].pk,
                                by=term["default_assistant"])
    assert set(Enrollment.objects.values_list("cohort_id", flat=True)) == {term["default"].pk, term["autumn"].pk}


def test_move_from_the_learner_page(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    bob = term["enrollment"]["bob"]
    page = logged_in(staff).get(f"{learners_url(tree.python)}{bob.pk}/").content.decode()
    assert "data-move-form" in page and "Open enrollment" in page
    response = logged_in(staff).post(f"{learners_url(tree.python)}{bob.pk}/move/", {"cohort": term["autumn"].pk}, follow=True)
    assert response.status_code == 200 and "is now in Autumn" in response.content.decode()
    bad = logged_in(staff).post(f"{learners_url(tree.python)}{bob.pk}/move/", {"cohort": "x"}, follow=True)
    assert bad.status_code == 200 and "Choose the cohort" in bad.content.decode()


# --- Roles ----------------------------------------------------------------------------------------


def test_role_grant_gives_admin_access_only_and_revoke_takes_it_back(tree: Tree, staff: Any) -> None:
    user = make_user("tess")
    role, created = cohorts.role_grant(course=tree.python, user=user, role="teacher", by=staff)
    group = Group.objects.get(name=access.COURSE_STAFF_GROUP)
    assert created and list(group.permissions.values_list("codename", flat=True)) == ["access_admin"]
    assert list(user.groups.all()) == [group]
    again, created_again = cohorts.role_grant(course=tree.python, user=user, role="assistant", by=staff)
    assert (again.pk, again.role, created_again) == (role.pk, "assistant", False)
    cohorts.role_revoke(role=role.pk, by=staff)
    assert not CourseRole.objects.exists() and not user.groups.exists()
    assert ModelLogEntry.objects.filter(action__in=["learning.role.grant", "learning.role.revoke"]).count() == 3


def test_only_course_managers_give_roles(tree: Tree, term: dict[str, Any]) -> None:
    teacher = course_role("whole", tree.python, "teacher")
    with pytest.raises(services.Forbidden):
        cohorts.role_grant(course=tree.python, user=make_user("friend"), role="teacher", by=teacher)
    editor_b = course_editor("bruno_editor", tree.sql)
    with pytest.raises(services.Forbidden):
        cohorts.role_grant(course=tree.python, user=make_user("friend2"), role="teacher", by=editor_b)
    with pytest.raises(services.InvalidInput):
        cohorts.role_grant(course=tree.python, user=make_user("friend3"), role="dean",
                           by=course_editor("alice_editor", tree.python))
    response = logged_in(teacher).post(f"{staff_url(tree.python)}add/", {"user": "friend", "role": "teacher"})
    assert response.status_code in (302, 403) and not CourseRole.objects.filter(user__username="friend").exists()


def test_roles_by_username_or_email_from_the_cohorts_screen(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    make_user("zoe")
    client = logged_in(staff)
    client.post(f"{staff_url(tree.python)}add/", {"user": "zoe@example.com", "role": "assistant", "cohort": term["autumn"].pk})
    role = CourseRole.objects.get(user__username="zoe")
    assert (role.role, role.cohort_id) == ("assistant", term["autumn"].pk)
    unknown = client.post(f"{staff_url(tree.python)}add/", {"user": "nobody", "role": "teacher"}, follow=True)
    assert "No single user" in unknown.content.decode()
    client.post(f"{staff_url(tree.python)}{role.pk}/remove/")
    assert not CourseRole.objects.filter(pk=role.pk).exists()


# --- What each role sees and does -----------------------------------------------------------------


def _rows(html: str) -> set[str]:
    return {name for name in ("ada", "bob", "carl", "dora") if f"{name}@example.com" in html}


def test_learner_list_per_role_and_cohort_filter(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    assert _rows(logged_in(staff).get(learners_url(tree.python)).content.decode()) == {"ada", "bob", "carl", "dora"}
    autumn_only = logged_in(staff).get(learners_url(tree.python, cohort=term["autumn"].pk)).content.decode()
    assert _rows(autumn_only) == {"carl", "dora"} and "2 learners match in Autumn" in autumn_only
    teacher_html = logged_in(term["autumn_teacher"]).get(learners_url(tree.python)).content.decode()
    assert _rows(teacher_html) == {"carl", "dora"} and "All my cohorts" in teacher_html
    assistant_html = logged_in(term["default_assistant"]).get(learners_url(tree.python)).content.decode()
    assert _rows(assistant_html) == {"ada", "bob"} and "Enroll a learner" not in assistant_html
    # A cohort they may not see is no filter: 404, not an empty list that confirms it exists.
    assert logged_in(term["default_assistant"]).get(learners_url(tree.python, cohort=term["autumn"].pk)).status_code == 404
    assert logged_in(staff).get(learners_url(tree.python, cohort="abc")).status_code == 404


def test_cohort_column_on_the_learner_list(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    html = logged_in(staff).get(learners_url(tree.python)).content.decode()
    carl = html[html.index(f'data-enrollment="{term["enrollment"]["carl"].pk}"'):]
    ada = html[html.index(f'data-enrollment="{term["enrollment"]["ada"].pk}"'):]
    assert "<td data-cohort>Autumn</td>" in carl[: carl.index("</tr>")]
    assert "<td data-cohort>Open enrollment</td>" in ada[: ada.index("</tr>")]


def test_one_learner_and_actions_stay_within_the_role_cohorts(tree: Tree, term: dict[str, Any]) -> None:
    teacher, assistant = term["autumn_teacher"], term["default_assistant"]
    ada, carl = term["enrollment"]["ada"], term["enrollment"]["carl"]
    assert logged_in(teacher).get(f"{learners_url(tree.python)}{carl.pk}/").status_code == 200
    assert logged_in(teacher).get(f"{learners_url(tree.python)}{ada.pk}/").status_code == 404
    assert logged_in(assistant).get(f"{learners_url(tree.python)}{carl.pk}/").status_code == 404
    # Unenrolling: a teacher of Autumn may for carl, never for ada; an assistant never.
    assert logged_in(teacher).post(f"{learners_url(tree.python)}{ada.pk}/unenroll/").status_code == 404
    logged_in(assistant).post(f"{learners_url(tree.python)}{ada.pk}/unenroll/")
    assert Enrollment.objects.get(pk=ada.pk).status == Enrollment.Status.ACTIVE
    with pytest.raises(services.Forbidden):
        services.enrollment_cancel(enrollment=ada.pk, by=teacher, as_staff=True)
    services.enrollment_cancel(enrollment=carl.pk, by=teacher, as_staff=True)
    assert Enrollment.objects.get(pk=carl.pk).status == Enrollment.Status.CANCELLED
    who = access.viewer(teacher)
    assert (access.may_see_enrollment(who, carl), access.may_manage_enrollment(who, carl)) == (True, True)
    assert (access.may_see_enrollment(who, ada), access.may_manage_enrollment(who, ada)) == (False, False)
    helper = access.viewer(assistant)
    assert (access.may_see_enrollment(helper, ada), access.may_manage_enrollment(helper, ada)) == (True, False)
    assert access.may_grade(helper, tree.python) and not access.may_grade(helper, tree.sql)
    assert not access.may_manage_learners(helper, tree.python)


def test_a_teacher_of_one_cohort_enrolls_into_it(tree: Tree, term: dict[str, Any]) -> None:
    newcomer = make_user("nina")
    result = services.enrollment_add(user=newcomer, course=tree.python, by=term["autumn_teacher"])
    assert result.enrollment.cohort_id == term["autumn"].pk
    with pytest.raises(services.Forbidden):
        services.enrollment_add(user=make_user("omar"), course=tree.python, by=term["autumn_teacher"],
                                cohort=term["default"])
    with pytest.raises(services.Forbidden):
        services.enrollment_add(user=make_user("pia"), course=tree.sql, by=term["autumn_teacher"])


def test_analytics_and_its_export_follow_the_cohort(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    services.lesson_progress_record(user=term["carl"], lesson=tree.lessons[0])
    whole = staff_selectors.course_analytics(course=tree.python)
    autumn_scope = cohorts.learner_scope(access.viewer(staff), tree.python, cohort=term["autumn"])
    autumn = staff_selectors.course_analytics(course=tree.python, scope=autumn_scope)
    default_scope = cohorts.learner_scope(access.viewer(staff), tree.python, cohort=term["default"])
    default = staff_selectors.course_analytics(course=tree.python, scope=default_scope)
    assert (whole.enrollments, autumn.enrollments, default.enrollments) == (4, 2, 2)
    assert (whole.funnel[0].reached, autumn.funnel[0].reached, default.funnel[0].reached) == (1, 1, 0)
    with CaptureQueriesContext(connection) as queries:
        staff_selectors.course_analytics(course=tree.python, scope=autumn_scope)
    assert len(queries) == 5  # as without a cohort: the scope is a subquery
    response = logged_in(term["default_assistant"]).get(
        f"/admin/learning/courses/{tree.python.pk}/analytics/", {"export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][3] == "0"  # lesson 1 reached by nobody in the assistant's cohort


def test_message_audience_is_limited_to_the_cohort(tree: Tree, staff: Any, term: dict[str, Any], settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    message = messaging.course_message_create(
        course=tree.python, by=staff, audience_key="", subject="Hello", body="Autumn only", cohort=term["autumn"],
    )
    assert sorted(message.recipients.values_list("user__username", flat=True)) == ["carl", "dora"]
    teacher_message = messaging.course_message_create(
        course=tree.python, by=term["autumn_teacher"], audience_key="", subject="Hi", body="Mine",
    )
    assert sorted(teacher_message.recipients.values_list("user__username", flat=True)) == ["carl", "dora"]
    with pytest.raises(services.InvalidInput):
        messaging.course_message_create(course=tree.python, by=staff, audience_key="", subject="S", body="B",
                                        cohort=cohorts.cohort_create(course=tree.sql, by=staff, name="Other"))
    assert CourseMessage.objects.count() == 2
    preview = logged_in(staff).post(
        f"/admin/learning/courses/{tree.python.pk}/message/",
        {"audience": "", "subject": "S", "body": "B", "cohort": term["default"].pk, "action": "preview"},
    ).content.decode()
    assert "Send to 2 learners" in preview and "ada" in preview and "carl" not in preview


def test_progress_report_export_has_the_cohort_and_filters_by_it(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    report = logged_in(staff).get("/admin/learning/courseprogressreport/", {"export": "csv", "cohort": term["autumn"].pk})
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0][-1] == "Cohort"
    assert sorted((row[1], row[-1]) for row in rows[1:]) == [("carl@example.com", "Autumn"), ("dora@example.com", "Autumn")]
    everyone = logged_in(term["default_assistant"]).get("/admin/learning/courseprogressreport/", {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(everyone.streaming_content).decode())))
    assert sorted((row[1], row[-1]) for row in rows[1:]) == [
        ("ada@example.com", "Open enrollment"), ("bob@example.com", "Open enrollment"),
    ]


def test_live_class_lists_the_role_cohorts_only(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    for name in ("ada", "carl"):
        services.lesson_progress_record(user=term[name], lesson=tree.lessons[0], position=10)
    teacher_html = logged_in(term["autumn_teacher"]).get(f"/admin/live/courses/{tree.python.pk}/").content.decode()
    assert "carl" in teacher_html and ">ada<" not in teacher_html and "ada (" not in teacher_html
    staff_html = logged_in(staff).get(f"/admin/live/courses/{tree.python.pk}/", {"cohort": term["default"].pk}).content.decode()
    assert "ada" in staff_html and "carl" not in staff_html


def test_stream_frames_about_other_cohorts_are_not_for_a_cohort_role(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    from realtime import selectors

    teacher = term["autumn_teacher"]
    sees = {name: selectors.staff_sees_learner(user=teacher, course_id=tree.python.pk, learner_id=term[name].pk)
            for name in ("ada", "carl")}
    assert sees == {"ada": False, "carl": True}
    assert selectors.staff_sees_every_learner(user=staff, course_id=tree.python.pk)
    assert not selectors.staff_sees_every_learner(user=teacher, course_id=tree.python.pk)
    in_default = selectors.staff_sees_learner(user=staff, course_id=tree.python.pk, learner_id=term["carl"].pk,
                                              cohort_id=term["default"].pk)
    assert in_default is False
    assert selectors.query_cohort_id(b"cohort=12") == 12 and selectors.query_cohort_id(b"cohort=x") == -1
    assert selectors.frame_learner_id('{"type": "class.activity", "id": 3, "data": {"user_id": 7}}') == 7


# --- No leak: a role is not a reader of other courses ---------------------------------------------


def test_a_role_holder_reads_their_course_only(tree: Tree, term: dict[str, Any]) -> None:
    teacher = term["autumn_teacher"]
    assert not access.is_privileged(teacher)
    who = access.viewer(teacher)
    assert access.lesson_access(who, tree.lessons[0], course_id=tree.python.pk).can_read
    sql_lesson = tree.sql.get_children().first()
    assert not access.lesson_access(access.viewer(teacher), sql_lesson, course_id=tree.sql.pk).can_read
    assert access.readable_course_ids(access.viewer(teacher), [tree.python, tree.sql]) == {tree.python.pk}
    client = logged_in(teacher)
    assert client.get(tree.lessons[0].url).status_code == 200
    sql_page = client.get(sql_lesson.url)
    assert "Enroll" in sql_page.content.decode() or sql_page.status_code in (302, 403)
    assert not access.may_read_any(access.viewer(teacher), [(sql_lesson.path, sql_lesson.content_type_id)])
    assert access.may_read_any(access.viewer(teacher), [(tree.lessons[0].path, tree.lessons[0].content_type_id)])


def test_an_editor_in_the_course_staff_group_too_stays_privileged(tree: Tree, term: dict[str, Any]) -> None:
    editor = course_editor("alice_editor", tree.sql)
    assert access.is_privileged(editor)
    cohorts.role_grant(course=tree.python, user=editor, role="assistant", by=make_superuser())
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.get(pk=editor.pk)
    assert access.is_privileged(fresh)


def make_superuser() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


def test_learner_list_queries_are_the_same_with_cohorts(tree: Tree, staff: Any, term: dict[str, Any]) -> None:
    """The cohort column is a join and the filter a condition of the same query: a list of 4 and
    of 34 learners cost the same, with or without a cohort chosen."""
    client = logged_in(staff)
    client.get(learners_url(tree.python))

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few, few_autumn = count(learners_url(tree.python)), count(learners_url(tree.python, cohort=term["autumn"].pk))
    for index in range(30):
        services.enrollment_add(user=make_user(f"many{index}"), course=tree.python, by=staff,
                                cohort=term["autumn"] if index % 2 else None)
    assert (count(learners_url(tree.python)), count(learners_url(tree.python, cohort=term["autumn"].pk))) == (
        few, few_autumn,
    )
    assert few_autumn == few
