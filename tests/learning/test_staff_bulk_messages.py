"""Bulk enrollment from a CSV (with invitations) and messages to a course's learners."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from learning import bulk, messaging, services, tasks
from learning.models import (
    BulkEnrollment,
    CourseMessage,
    CourseMessageRecipient,
    Enrollment,
    Invitation,
    Notification,
)
from tests.courses.helpers import Tree, logged_in
from tests.learning.conftest import make_user
from tests.learning.staff_world import course_editor, outcome
from tests.tasks.conftest import SmtpServer, smtp  # noqa: F401  (the aiosmtpd fixture)

pytestmark = pytest.mark.django_db

CSV = (
    "email\n"
    "ada@example.com\n"          # line 2: existing user, enrolled
    "BOB@example.com\n"          # line 3: existing user, already enrolled (case differs)
    "ada@example.com\n"          # line 4: repeats line 2
    "newcomer@example.org\n"     # line 5: unknown address, invited
    "not-an-email\n"             # line 6: malformed
    "\n"                         # line 7: blank, skipped
    "=HYPERLINK(\"x\")\n"        # line 8: malformed (and formula-like)
)


def bulk_url(tree: Tree) -> str:
    return f"/admin/learning/courses/{tree.sql.pk}/bulk/"


def test_bulk_csv_enrolls_invites_and_reports_invalid_rows(
    tree: Tree, staff: Any, learner: Any, other_learner: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.enrollment_add(user=other_learner, course=tree.sql, by=staff)
    client = logged_in(staff)
    response = client.post(bulk_url(tree), {"file": SimpleUploadedFile("people.csv", CSV.encode()), "mode": "enroll"})
    job = BulkEnrollment.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/bulk/{job.pk}/")
    assert (job.status, job.total_rows) == ("queued", 6)
    assert tasks.run_bulk_enrollment(job_id=job.pk) == "done"
    job.refresh_from_db()
    assert job.report == {
        "added": ["ada@example.com"],
        "already": ["bob@example.com"],
        "invited": ["newcomer@example.org"],
        "removed": [],
        "not_enrolled": [],
        "invalid": [
            [4, "ada@example.com", "repeats line 2"],
            [6, "not-an-email", "not an email address"],
            [8, '=HYPERLINK("x")', "not an email address"],
        ],
    }
    assert Enrollment.objects.get(user=learner, course=tree.sql).status == Enrollment.Status.ACTIVE
    page = client.get(f"{bulk_url(tree)}{job.pk}/").content.decode()
    assert "Added: 1" in page and "Invited by email: 1" in page and "Invalid rows: 3" in page
    assert client.get(f"{bulk_url(tree)}{job.pk}/", {"format": "json"}).json() == {
        "status": "done", "processed": 6, "total": 6, "percent": 100,
        "counts": {"added": 1, "already": 1, "invited": 1, "removed": 0, "not_enrolled": 0, "invalid": 3},
    }
    # Running the task again changes nothing.
    assert tasks.run_bulk_enrollment(job_id=job.pk) == "done"
    assert Enrollment.objects.filter(course=tree.sql).count() == 2
    # The invitation's email carries a sign-up link; signing up through it enrolls.
    invitation = Invitation.objects.get()
    assert tasks.send_invitation_email(invitation_id=invitation.pk) == "sent"
    link = re.search(r"https?://\S+/accounts/signup/\?invite=(\S+)", mail.outbox[-1].body)
    assert link is not None and link.group(1) == invitation.token
    visitor = Client()
    visitor.get(f"/accounts/signup/?invite={invitation.token}")
    visitor.post("/accounts/signup/", {
        "username": "newcomer", "email": "newcomer@example.org", "password1": "a long pass phrase 42",
        "password2": "a long pass phrase 42",
    })
    newcomer = Enrollment.objects.get(user__username="newcomer", course=tree.sql)
    assert newcomer.status == Enrollment.Status.ACTIVE and newcomer.decided_by == staff
    invitation.refresh_from_db()
    assert invitation.accepted_by is not None


def test_invitation_needs_the_invited_address(tree: Tree, staff: Any) -> None:
    invitation = bulk.invitation_create(email="someone@example.org", course=tree.sql, by=staff)
    intruder = make_user("intruder")
    assert bulk.invitation_accept(user=intruder, token=invitation.token) is None
    assert not Enrollment.objects.filter(user=intruder).exists()


def test_bulk_unenroll(tree: Tree, staff: Any, learner: Any) -> None:
    services.enrollment_add(user=learner, course=tree.sql, by=staff)
    job = bulk.bulk_enrollment_create(
        course=tree.sql, by=staff, upload=b"ada@example.com\nbob@example.com\n", mode="unenroll"
    )
    tasks.run_bulk_enrollment(job_id=job.pk)
    job.refresh_from_db()
    assert (job.report["removed"], job.report["not_enrolled"]) == (["ada@example.com"], ["bob@example.com"])
    assert Enrollment.objects.get(user=learner, course=tree.sql).status == Enrollment.Status.CANCELLED


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"", "The file has no email addresses."),
        (b"\xff\xfe\x00bad", "The file is not UTF-8 text; save it as CSV (UTF-8)."),
        (b"email\n", "The file has no email addresses."),
    ],
)
def test_bad_uploads_are_400(tree: Tree, staff: Any, upload: bytes, message: str) -> None:
    response = logged_in(staff).post(bulk_url(tree), {"file": SimpleUploadedFile("x.csv", upload), "mode": "enroll"})
    assert response.status_code == 400 and message in response.content.decode()
    assert not BulkEnrollment.objects.exists()


def test_bulk_is_for_the_courses_own_staff(tree: Tree) -> None:
    editor_a = course_editor("alice_editor", tree.python)
    response = logged_in(editor_a).post(bulk_url(tree), {"file": SimpleUploadedFile("x.csv", b"a@b.org\n")})
    assert outcome(response) == "forbidden" and not BulkEnrollment.objects.exists()


@pytest.mark.postgres
def test_bulk_csv_of_10000_rows_on_postgresql(tree: Tree, staff: Any, settings: Any) -> None:
    """10,000 rows: 5,000 existing users (enrolled), 4,990 unknown (invited), 10 malformed."""
    from django.contrib.auth import get_user_model

    settings.RATELIMIT_INVITATIONS = "5000/d"

    get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bulk{index}", email=f"bulk{index}@example.com") for index in range(5000)]
    )
    lines = [f"bulk{index}@example.com" for index in range(5000)]
    lines += [f"new{index}@example.org" for index in range(4990)] + [f"broken{index}" for index in range(10)]
    job = bulk.bulk_enrollment_create(
        course=tree.python, by=staff, upload="\n".join(lines).encode(), confirmed_invitations=4990
    )
    started = time.perf_counter()
    tasks.run_bulk_enrollment(job_id=job.pk)
    print(f"\nbulk CSV of 10,000 rows: {time.perf_counter() - started:.1f} s in the task")
    job.refresh_from_db()
    assert (len(job.report["added"]), len(job.report["invited"]), len(job.report["invalid"])) == (5000, 4990, 10)
    assert Enrollment.objects.filter(course=tree.python, status=Enrollment.Status.ACTIVE).count() == 5000


def test_message_reaches_the_chosen_subset_once_live_and_by_email(
    tree: Tree, staff: Any, learner: Any, other_learner: Any, smtp: SmtpServer,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.enrollment_request(user=learner, course=tree.python)
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    services.enrollment_request(user=other_learner, course=tree.python)  # not started
    cancelled = make_user("cid")
    services.enrollment_request(user=cancelled, course=tree.python)
    services.enrollment_cancel(enrollment=Enrollment.objects.get(user=cancelled).pk, by=cancelled)
    client = logged_in(staff)
    url = f"/admin/learning/courses/{tree.python.pk}/message/"
    form = {"audience": "not_started", "subject": "Need a hand?", "body": "Lesson 1 takes ten minutes."}
    preview = client.post(url, {**form, "action": "preview"}).content.decode()
    assert "Goes to 1 learner: bob" in preview and "Send to 1 learner" in preview
    assert not CourseMessage.objects.exists()
    assert client.post(url, {**form, "action": "send"}).status_code == 302
    message = CourseMessage.objects.get()
    assert list(message.recipients.values_list("user__username", flat=True)) == ["bob"]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.deliver_course_message(message_id=message.pk) == 1
    assert tasks.deliver_course_message(message_id=message.pk) == 0  # a second run sends nothing
    notification = Notification.objects.get(kind=Notification.Kind.ANNOUNCEMENT)
    assert (notification.user, notification.title) == (other_learner, "Python basics: Need a hand?")
    from realtime.models import Event

    live = Event.objects.filter(type="notification.created", group=f"user.{other_learner.pk}.notifications")
    assert [event.data["title"] for event in live] == ["Python basics: Need a hand?"]
    recipient = CourseMessageRecipient.objects.get()
    assert tasks.send_course_message_email(recipient_id=recipient.pk) == "sent"
    assert tasks.send_course_message_email(recipient_id=recipient.pk) == "already_sent"
    assert [m["To"] for m in smtp.messages] == ["bob@example.com"]
    assert "Lesson 1 takes ten minutes." in smtp.messages[0].get_body(("plain",)).get_content()
    assert "Need a hand?" in client.get(url).content.decode()  # the record of what was sent


def test_message_validation_and_rate_limit(tree: Tree, staff: Any, learner: Any, settings: Any) -> None:
    settings.RATELIMIT_COURSE_MESSAGES = "2/h"
    services.enrollment_request(user=learner, course=tree.python)
    with pytest.raises(services.InvalidInput):
        messaging.course_message_create(course=tree.python, by=staff, audience_key="bogus", subject="s", body="b")
    with pytest.raises(services.InvalidInput):
        messaging.course_message_create(course=tree.python, by=staff, audience_key="completed", subject="s", body="b")
    for _ in range(2):
        messaging.course_message_create(course=tree.python, by=staff, audience_key="", subject="s", body="b")
    response = logged_in(staff).post(
        f"/admin/learning/courses/{tree.python.pk}/message/", {"audience": "", "subject": "s", "body": "b", "action": "send"}
    )
    assert response.status_code == 429 and "You sent many messages recently" in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert CourseMessage.objects.count() == 2


# --- invitations: a confirmation above the threshold, a limit per staff member ------------------------


def _unknown(count: int, start: int = 0) -> bytes:
    return "\n".join(f"new{index}@example.org" for index in range(start, start + count)).encode()


def _pending_id(page: str) -> str:
    found = re.search(r'name="pending" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_an_upload_above_the_threshold_sends_nothing_until_confirmed(
    tree: Tree, staff: Any, learner: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert settings.BULK_INVITATIONS_CONFIRM_ABOVE == 50
    client = logged_in(staff)
    upload = b"email\nada@example.com\n" + _unknown(60)

    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(bulk_url(tree), {"file": SimpleUploadedFile("class.csv", upload), "mode": "enroll"})
    page = asked.content.decode()

    assert asked.status_code == 200
    assert "This upload sends 60 invitations by email" in page
    assert "Send 60 invitations" in page
    assert (BulkEnrollment.objects.count(), Invitation.objects.count(), len(mail.outbox)) == (0, 0, 0)

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(bulk_url(tree), {"pending": _pending_id(page), "confirm": "60"})
    job = BulkEnrollment.objects.get()
    assert confirmed.status_code == 302 and confirmed["Location"].endswith(f"/bulk/{job.pk}/")
    tasks.run_bulk_enrollment(job_id=job.pk)
    job.refresh_from_db()
    assert (len(job.report["added"]), len(job.report["invited"])) == (1, 60)
    assert Invitation.objects.count() == 60
    # A confirmation is used once: posting it again creates nothing.
    again = client.post(bulk_url(tree), {"pending": _pending_id(page), "confirm": "60"})
    assert again.status_code == 400 and "This upload is no longer waiting" in again.content.decode()
    assert BulkEnrollment.objects.count() == 1


def test_a_confirmation_is_the_uploaders_own(tree: Tree, staff: Any) -> None:
    page = logged_in(staff).post(
        bulk_url(tree), {"file": SimpleUploadedFile("class.csv", _unknown(51)), "mode": "enroll"}
    ).content.decode()
    other = make_user("root", is_superuser=True, is_staff=True)

    response = logged_in(other).post(bulk_url(tree), {"pending": _pending_id(page), "confirm": "51"})

    assert response.status_code == 400 and "This upload is no longer waiting" in response.content.decode()
    assert not BulkEnrollment.objects.exists()


def test_invitations_past_the_staff_members_limit_are_refused_whole(
    tree: Tree, staff: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATELIMIT_INVITATIONS = "100/d"
    client = logged_in(staff)

    def upload_and_confirm(start: int, count: int) -> Any:
        page = client.post(
            bulk_url(tree), {"file": SimpleUploadedFile("class.csv", _unknown(count, start)), "mode": "enroll"}
        ).content.decode()
        return client.post(bulk_url(tree), {"pending": _pending_id(page), "confirm": str(count)})

    assert upload_and_confirm(0, 60).status_code == 302
    refused = upload_and_confirm(100, 60)
    too_big = client.post(bulk_url(tree), {"file": SimpleUploadedFile("all.csv", _unknown(101, 500)), "mode": "enroll"})

    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 24 * 3600
    assert (
        "This upload would send 60 invitations; you may send 40 more now (at most 100 in 24 hours). "
        "Try again in 24 hours, or upload fewer addresses."
    ) in refused.content.decode()
    assert too_big.status_code == 400
    assert "At most 100 invitations in 24 hours; split the file." in too_big.content.decode()
    # Nothing of the refused uploads was stored or sent.
    assert BulkEnrollment.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        tasks.run_bulk_enrollment(job_id=BulkEnrollment.objects.get().pk)
    assert Invitation.objects.count() == 60
    # Enrolling existing learners needs no invitation, so the limit does not stop it.
    make_user("zoe")
    ok = client.post(bulk_url(tree), {"file": SimpleUploadedFile("z.csv", b"zoe@example.com\n"), "mode": "enroll"})
    assert ok.status_code == 302
