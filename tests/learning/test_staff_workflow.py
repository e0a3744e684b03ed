"""Staff workflow findings (issue 22): approving on the learner list, the wording of staff-made
enrollments, single invitations, messages to chosen learners."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages

from learning import services
from learning.models import CourseMessage, Enrollment, Invitation, Notification
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import client_for, course_editor, outcome

pytestmark = pytest.mark.django_db


def learners_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/learners/"


def decide_url(course: Any) -> str:
    return f"/admin/learning/courses/{course.pk}/learners/decide/"


def said(response: Any) -> list[str]:
    """The message this response added (earlier ones wait, unread, in the same storage)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1:]


@pytest.fixture
def requests_(tree: Tree) -> list[Enrollment]:
    """Four learners asked to join Databases with SQL (approval): ann, ben, cat, dan."""
    return [
        services.enrollment_request(user=make_user(name), course=tree.sql).enrollment
        for name in ("ann", "ben", "cat", "dan")
    ]


def statuses(course: Any) -> dict[str, str]:
    return dict(Enrollment.objects.filter(course=course).values_list("user__username", "status"))


def test_the_learner_list_approves_and_declines_one_row(
    tree: Tree, staff: Any, requests_: list[Enrollment], django_capture_on_commit_callbacks: Any
) -> None:
    client = logged_in(staff)
    page = client.get(learners_url(tree.sql) + "?status=pending_approval").content.decode()
    assert "Approve ann" in page and "Decline ann" in page and "Approve all 4" in page
    with django_capture_on_commit_callbacks(execute=True):
        approved = client.post(decide_url(tree.sql), {"action": "approve", "enrollment": requests_[0].pk})
        declined = client.post(decide_url(tree.sql), {"action": "decline", "enrollment": requests_[1].pk})
    assert (approved.status_code, approved["Location"]) == (302, learners_url(tree.sql))
    assert said(approved) == ["1 request approved."]
    assert said(declined) == ["1 request declined."]
    assert statuses(tree.sql) == {"ann": "active", "ben": "cancelled", "cat": "pending_approval", "dan": "pending_approval"}
    ann = Enrollment.objects.get(user__username="ann")
    assert ann.decided_by == staff
    # The same service as Learning > Enrollments: audited, and the learner is told.
    assert Notification.objects.filter(user=ann.user).first().title == "Your enrollment in Databases with SQL was approved"
    assert Notification.objects.filter(user__username="ben").first().title == (
        "Your enrollment in Databases with SQL was cancelled"
    )
    # Deciding again changes nothing: an approved row is no longer pending.
    again = client.post(decide_url(tree.sql), {"action": "approve", "enrollment": requests_[0].pk})
    assert said(again) == ["No pending request was chosen (it may have been decided already)."]


def test_the_learner_list_approves_the_ticked_rows_and_all_pending_matching_a_search(
    tree: Tree, staff: Any, requests_: list[Enrollment]
) -> None:
    client = logged_in(staff)
    ticked = client.post(decide_url(tree.sql), {"action": "approve", "enrollment": [requests_[0].pk, requests_[2].pk]})
    assert said(ticked) == ["2 requests approved."]
    assert statuses(tree.sql) == {"ann": "active", "ben": "pending_approval", "cat": "active", "dan": "pending_approval"}
    filtered = client.post(decide_url(tree.sql), {"action": "decline", "scope": "filtered", "q": "ben"})
    assert said(filtered) == ["1 request declined."]
    everyone = client.post(decide_url(tree.sql), {"action": "approve", "scope": "filtered", "q": ""})
    assert said(everyone) == ["1 request approved."]
    assert statuses(tree.sql) == {"ann": "active", "ben": "cancelled", "cat": "active", "dan": "active"}


def test_deciding_is_for_the_courses_own_staff_and_needs_a_known_action(
    tree: Tree, staff: Any, requests_: list[Enrollment]
) -> None:
    other_editor = course_editor("bruno_editor", tree.python)
    refused = client_for(other_editor).post(decide_url(tree.sql), {"action": "approve", "enrollment": requests_[0].pk})
    assert outcome(refused) == "forbidden"
    sql_editor = course_editor("alice_editor", tree.sql)
    assert client_for(sql_editor).post(
        decide_url(tree.sql), {"action": "approve", "enrollment": requests_[0].pk}
    ).status_code == 302
    client = logged_in(staff)
    bogus = client.post(decide_url(tree.sql), {"action": "delete", "enrollment": requests_[1].pk})
    assert said(bogus) == ["Choose to approve or to decline."]
    junk = client.post(decide_url(tree.sql), {"action": "approve", "enrollment": ["x", "9" * 40]})
    assert said(junk) == ["No pending request was chosen (it may have been decided already)."]
    # A row of another course is not decided from this one.
    python_request = services.enrollment_request(user=make_user("zed"), course=tree.python).enrollment
    client.post(decide_url(tree.sql), {"action": "decline", "enrollment": python_request.pk})
    python_request.refresh_from_db()
    assert python_request.status == "active"
    assert client.get(decide_url(tree.sql)).status_code == 405
    assert statuses(tree.sql)["ben"] == "pending_approval"


def test_staff_enrollment_says_you_were_enrolled_and_approval_says_approved(
    tree: Tree, staff: Any, learner: Any, other_learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_add(user=learner, course=tree.sql, by=staff)  # never asked
        services.enrollment_request(user=other_learner, course=tree.sql)
        services.enrollment_add(user=other_learner, course=tree.sql, by=staff)  # asked: approved
    titles = dict(Notification.objects.filter(kind="enrollment_approved").values_list("user__username", "title"))
    assert titles == {
        "ada": "You were enrolled in Databases with SQL",
        "bob": "Your enrollment in Databases with SQL was approved",
    }


def test_single_enroll_invites_an_unknown_address_like_bulk(tree: Tree, staff: Any, settings: Any) -> None:
    settings.RATELIMIT_INVITATIONS = "2/h"
    client = logged_in(staff)
    url = f"/admin/learning/courses/{tree.sql.pk}/learners/enroll/"
    first = client.post(url, {"learner": "Newcomer@Example.org"})
    assert said(first) == [
        "No account uses newcomer@example.org: an invitation to sign up and join Databases with SQL is on its way."
    ]
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.course_id, invitation.invited_by) == ("newcomer@example.org", tree.sql.pk, staff)
    assert said(client.post(url, {"learner": "not@an@address"})) == ["“not@an@address” is not an email address."]
    client.post(url, {"learner": "second@example.org"})
    limited = said(client.post(url, {"learner": "third@example.org"}))
    assert limited[0].startswith("This invitation would send 1 invitation")
    assert sorted(Invitation.objects.values_list("email", flat=True)) == ["newcomer@example.org", "second@example.org"]


def test_message_goes_to_the_learners_ticked_on_the_list(
    tree: Tree, staff: Any, learner: Any, other_learner: Any
) -> None:
    ada = services.enrollment_request(user=learner, course=tree.python).enrollment
    services.enrollment_request(user=other_learner, course=tree.python)
    cid = services.enrollment_request(user=make_user("cid"), course=tree.python).enrollment
    elsewhere = services.enrollment_request(user=make_user("dee"), course=tree.sql).enrollment
    client = logged_in(staff)
    url = f"/admin/learning/courses/{tree.python.pk}/message/"
    listed = client.get(learners_url(tree.python)).content.decode()
    assert "Message selected" in listed and f'name="enrollment" value="{ada.pk}"' in listed
    # "Message selected" on the list posts the ticked rows to the message screen.
    chosen = {"audience": "selected", "enrollment": [ada.pk, cid.pk, elsewhere.pk]}
    preview = client.post(url, chosen).content.decode()
    assert "The 3 learners chosen on the learner list" in preview
    assert "Goes to 2 learners: " in preview and "bob" not in preview.split("Goes to")[1].split(".")[0]
    sent = client.post(url, {**chosen, "subject": "Hi", "body": "Just you two.", "action": "send"})
    assert sent.status_code == 302
    message = CourseMessage.objects.get()
    assert (message.audience, sorted(message.recipients.values_list("user__username", flat=True))) == (
        "selected", ["ada", "cid"]
    )
    nobody = client.post(url, {"audience": "selected", "subject": "Hi", "body": "x"})
    assert "Tick the learners to message on the learner list first." in nobody.content.decode()


def test_progress_export_has_a_column_per_live_lesson_and_each_quizs_best_score(tree: Tree, staff: Any, learner: Any) -> None:
    import csv
    import io

    from plugins.quizzes.models import QuizAttempt
    from tests.courses.helpers import make_lesson
    from tests.plugins.quizzes.helpers import make_quiz

    quiz = make_quiz(tree.python, title="Check yourself")
    make_lesson(tree.python, "Draft lesson", live=False)
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    for number, percent in ((1, "50.00"), (2, "75.00")):
        QuizAttempt.objects.create(
            quiz=quiz, user=learner, course=tree.python, number=number, started_at=quiz.first_published_at,
            submitted_at=quiz.first_published_at, questions=[], pass_mark=75, percent=percent,
        )
    response = logged_in(staff).get(learners_url(tree.python) + "?export=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="course-{tree.python.pk}-progress.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    lessons = [lesson.title for lesson in tree.lessons]
    assert rows[0] == [
        "Learner", "Email", "Status", "Percent complete", "Lessons completed", "Last activity",
        *(f"{n}. {title}: completed at" for n, title in enumerate([*lessons, "Check yourself"], 1)),
        "Quiz: Check yourself: best score (%)",
    ]
    ada = rows[1]
    assert ada[:5] == ["ada", "ada@example.com", "Active", "25", "1"]
    assert ada[6] != "" and ada[7:10] == ["", "", ""]
    assert float(ada[10]) == 75.0
    assert len(rows) == 2
