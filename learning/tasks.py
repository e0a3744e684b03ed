"""Background tasks of the learning core, run by the Django-Q2 worker.

Thin wrappers: they take ids (never model instances, never secrets), load the objects, and call
services, selectors or :mod:`academy.email`. An object deleted meanwhile (user, enrollment,
page) ends the task quietly with a log line: retrying cannot bring it back. Any other error is
raised, so the broker retries the task (up to ``Q_CLUSTER["max_attempts"]``) and keeps the
failure for inspection. Every task is safe to run twice.

Receivers (``learning/receivers/background.py``) and views enqueue these through
:func:`academy.tasks.enqueue`; ``SCHEDULES`` declares the periodic ones
(``manage.py setup_schedules``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.db import transaction
from django.db.utils import IntegrityError
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from wagtail.models import Page

from academy.email import absolute_url, requeue_stalled_deliveries, send_once
from academy.events import OUTBOX_SWEEP_MINUTES, outbox_prune, outbox_sweep
from academy.models import SideEffectRecord
from academy.schedules import ScheduledTask
from courses.models import CoursePage
from learning import access
from learning.models import Enrollment, Notification
from learning.services import notification_create, notification_prune_read, refresh_progress_cache

logger = logging.getLogger(__name__)

# Read notifications older than this are deleted by the prune schedule.
READ_NOTIFICATION_RETENTION_DAYS = 90
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_HOUR = 60
# Lesson date reminders (learning.reminders) are looked for this often.
DATE_REMINDER_MINUTES = 15

ENROLLMENT_EMAILS = {
    # event -> (template, the status the enrollment must still have for the email to make sense)
    "requested": ("enrollment_requested", {Enrollment.Status.PENDING_APPROVAL}),
    "activated": ("enrollment_activated", access.ACCESS_STATUSES),
}


def _skip(task: str, reason: str, **ids: object) -> None:
    """Log why a task ends without doing anything (not an error: nothing to retry)."""
    logger.info("%s skipped (%s): %s", task, reason, ", ".join(f"{k}={v}" for k, v in ids.items()))


def _course_url(enrollment: Enrollment) -> str:
    return absolute_url(enrollment.course.url or "/courses/")


def send_enrollment_email(*, enrollment_id: int, event: str) -> str:
    """Email the learner that their enrollment request arrived (``requested``, approval courses)
    or that they are in (``activated``). Once per enrollment state change."""
    if event not in ENROLLMENT_EMAILS:
        raise ValueError(f"unknown enrollment email event {event!r}")
    template, statuses = ENROLLMENT_EMAILS[event]
    enrollment = Enrollment.objects.select_related("user", "course").filter(pk=enrollment_id).first()
    if enrollment is None:
        _skip("send_enrollment_email", "enrollment deleted", enrollment_id=enrollment_id)
        return "skipped"
    if enrollment.status not in statuses:
        _skip("send_enrollment_email", f"status is now {enrollment.status}", enrollment_id=enrollment_id)
        return "skipped"
    if not enrollment.user.email or not enrollment.user.is_active:
        _skip("send_enrollment_email", "no active recipient", enrollment_id=enrollment_id)
        return "skipped"
    moment = enrollment.activated_at if event == "activated" else enrollment.requested_at
    key = f"enrollment:{enrollment.pk}:{event}:{moment.isoformat() if moment else ''}"
    outcome = send_once(
        key=key,
        template=template,
        to=enrollment.user.email,
        context=_enrollment_context(enrollment),
        task="learning.tasks.send_enrollment_email",
        task_kwargs={"enrollment_id": enrollment_id, "event": event},
    )
    return outcome.value


def _enrollment_context(enrollment: Enrollment) -> dict[str, Any]:
    """What every enrollment email template gets."""
    return {
        "user": enrollment.user,
        "course_title": enrollment.course.title,
        "course_url": _course_url(enrollment),
        "enrollment": enrollment,
    }


def send_course_completed_email(*, enrollment_id: int) -> str:
    """Congratulate the learner on completing a course. Once per completion."""
    enrollment = Enrollment.objects.select_related("user", "course").filter(pk=enrollment_id).first()
    if enrollment is None:
        _skip("send_course_completed_email", "enrollment deleted", enrollment_id=enrollment_id)
        return "skipped"
    if enrollment.status != Enrollment.Status.COMPLETED or not enrollment.user.email:
        _skip("send_course_completed_email", f"status is {enrollment.status}", enrollment_id=enrollment_id)
        return "skipped"
    completed = enrollment.completed_at.isoformat() if enrollment.completed_at else ""
    outcome = send_once(
        key=f"course_completed:{enrollment.pk}:{completed}",
        template="course_completed",
        to=enrollment.user.email,
        context=_enrollment_context(enrollment),
        task="learning.tasks.send_course_completed_email",
        task_kwargs={"enrollment_id": enrollment_id},
    )
    return outcome.value


def send_password_reset_email(*, user_id: int, request_id: str) -> str:
    """Send the password-reset link for one reset request (``request_id`` from the form).

    The token is made here, in the worker, so no secret sits in the queue; it is the same
    token Django's reset view checks (bound to the user's password and last login).
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or not user.has_usable_password():
        _skip("send_password_reset_email", "no such active user", user_id=user_id)
        return "skipped"
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    reset_url = absolute_url(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
    outcome = send_once(
        key=f"password_reset:{user.pk}:{request_id}",
        template="password_reset",
        to=user.email,
        context={"user": user, "reset_url": reset_url, "login_url": absolute_url(reverse("login"))},
        task="learning.tasks.send_password_reset_email",
        task_kwargs={"user_id": user_id, "request_id": request_id},
    )
    return outcome.value


def refresh_course_progress(*, course_id: int) -> int:
    """Recompute every learner's cached progress in a course (after its content changed)."""
    return refresh_progress_cache(course_id=course_id)


def broadcast_course_update(
    *, page_id: int, course_id: int, revision_id: int | None = None, first_publication: bool = False
) -> int:
    """Tell every learner with access to the course that it changed (one notification each): a
    lesson published for the first time (``first_publication``, also by a schedule) is announced
    as new, any other publish as an update.

    Only learners the access policy lets read the page now are told (``learning.access``; a
    task has no session, so a password restriction counts as not passed): a course or lesson
    that became private names none of its lessons to those who may no longer see it.
    Once per learner and revision: the record of the notification is written in the same
    transaction as the notification, so a task that runs twice notifies nobody twice.
    Returns the number of notifications created.
    """
    page = Page.objects.filter(pk=page_id).live().first()
    course = CoursePage.objects.filter(pk=course_id).live().first()
    if page is None or course is None:
        _skip("broadcast_course_update", "page gone or unpublished", page_id=page_id, course_id=course_id)
        return 0
    page = page.specific
    if page.pk == course.pk:
        title = f"{course.title} was updated"
        body = "The course description changed."
    elif first_publication:
        title = f"New lesson in {course.title}: “{page.title}”"
        body = "A new lesson of your course is open. Have a look when you are ready."
    else:
        title = f"{course.title}: “{page.title}” was updated"
        body = "A lesson of your course changed. Have a look when you are ready."
    version = revision_id or (page.last_published_at.isoformat() if page.last_published_at else "")
    learners = (
        Enrollment.objects.filter(access.access_status_filter(), course_id=course.pk, user__is_active=True)
        .select_related("user")
        .prefetch_related("user__groups")
        .order_by("pk")
    )
    rules = access.page_rules([page.path])
    created = 0
    for enrollment in learners:
        if not rules.visibility(page.path, access.viewer(enrollment.user)).visible:
            continue
        key = f"course_updated:{page.pk}:{version}:{enrollment.user_id}"
        try:
            with transaction.atomic():
                SideEffectRecord.objects.create(key=key)
                notification_create(
                    user=enrollment.user,
                    kind=Notification.Kind.COURSE_UPDATED,
                    title=title[:200],
                    body=body,
                    link=page.url or "",
                )
        except IntegrityError:
            continue  # this learner was already told about this revision
        created += 1
    return created


def run_bulk_enrollment(*, job_id: int) -> str:
    """Work through an uploaded CSV of addresses (``learning.bulk``): enroll, unenroll, invite."""
    from learning.bulk import bulk_enrollment_run

    job = bulk_enrollment_run(job_id=job_id)
    if job is None:
        _skip("run_bulk_enrollment", "job deleted", job_id=job_id)
        return "skipped"
    return job.status


def send_invitation_email(*, invitation_id: int) -> str:
    """Email an invitation's sign-up link (once per invitation)."""
    from learning.models import Invitation

    invitation = Invitation.objects.select_related("course", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        _skip("send_invitation_email", "invitation gone or accepted", invitation_id=invitation_id)
        return "skipped"
    inviter = invitation.invited_by
    outcome = send_once(
        key=f"invitation:{invitation.pk}",
        template="course_invitation",
        to=invitation.email,
        context={
            "email": invitation.email,
            "course_title": invitation.course.title,
            "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "The course team",
            "signup_url": absolute_url(f"{reverse('signup')}?invite={invitation.token}"),
        },
        task="learning.tasks.send_invitation_email",
        task_kwargs={"invitation_id": invitation_id},
    )
    return outcome.value


def deliver_course_message(*, message_id: int) -> int:
    """Notify every recipient of a staff message (live) and queue their emails (``learning.messaging``)."""
    from learning.messaging import course_message_deliver

    return course_message_deliver(message_id=message_id)


def send_course_message_email(*, recipient_id: int) -> str:
    """Email one recipient a staff message (once per message and learner)."""
    from learning.models import CourseMessageRecipient

    recipient = (
        CourseMessageRecipient.objects.select_related("user", "message__course", "message__sender")
        .filter(pk=recipient_id).first()
    )
    if recipient is None or not recipient.user.email or not recipient.user.is_active:
        _skip("send_course_message_email", "no active recipient", recipient_id=recipient_id)
        return "skipped"
    message = recipient.message
    sender = message.sender
    outcome = send_once(
        key=f"course_message:{message.pk}:{recipient.user_id}",
        template="course_message",
        to=recipient.user.email,
        context={
            "user": recipient.user,
            "subject": message.subject,
            "body": message.body,
            "sender": (sender.get_full_name() or sender.get_username()) if sender else "The course team",
            "course_title": message.course.title,
            "course_url": absolute_url(message.course.url or "/courses/"),
        },
        task="learning.tasks.send_course_message_email",
        task_kwargs={"recipient_id": recipient_id},
    )
    return outcome.value


def cleanup_expired_sessions() -> None:
    """Delete expired sessions (what ``manage.py clearsessions`` does), on a schedule, and the
    login-session records of sessions that are gone."""
    from learning.sessions import prune_login_sessions

    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    prune_login_sessions()


def clear_expired_oauth_tokens() -> None:
    """Delete apps' expired OAuth access tokens, expired or revoked refresh tokens and expired
    authorization codes (what ``manage.py cleartokens`` of django-oauth-toolkit does), on a schedule."""
    from oauth2_provider.models import clear_expired

    clear_expired()


def prune_read_notifications(*, days: int = READ_NOTIFICATION_RETENTION_DAYS) -> int:
    """Delete notifications that were read more than ``days`` days ago; returns how many."""
    return notification_prune_read(older_than=timezone.now() - timedelta(days=days))


def prune_idempotency_keys() -> int:
    """Forget API ``Idempotency-Key`` answers older than a day (``academy.idempotency``)."""
    from academy.idempotency import prune

    return prune()


def sweep_event_outbox() -> int:
    """Run the durable receivers of stored domain events whose fast path never finished (a web
    process killed after the commit; ``academy.events.outbox_sweep``). Returns how many."""
    return outbox_sweep()


def prune_event_outbox() -> int:
    """Delete stored domain events done long enough ago (``academy.events.outbox_prune``)."""
    return outbox_prune()


def resend_stalled_emails() -> int:
    """Enqueue again the emails still pending after the broker's retry window (any broker:
    the Redis broker drops the task of a killed worker). Returns how many were enqueued."""
    return requeue_stalled_deliveries()


def publish_scheduled_pages() -> None:
    """Run Wagtail's ``publish_scheduled``: pages whose go-live time passed are published (and
    raise ``page_published`` -> ``course_content_published``, like an editor's publish)."""
    call_command("publish_scheduled", verbosity=0)


def send_date_reminders() -> int:
    """Send the lesson date reminders due now (``learning.reminders``: each once per learner,
    lesson and kind); returns how many were sent."""
    from learning.reminders import send_date_reminders as send

    return send(now=timezone.now()).sent


def send_date_reminder_email(*, reminder_id: int) -> str:
    """Email one date reminder (``learning.reminders``) to its learner, once. Skipped when the
    reminder is gone, the learner has no email or is inactive, or completed the lesson meanwhile."""
    from learning.models import DateReminder, LessonProgress
    from learning.reminders import reminder_text

    reminder = DateReminder.objects.select_related("user", "lesson").filter(pk=reminder_id).first()
    if reminder is None or not reminder.user.email or not reminder.user.is_active:
        _skip("send_date_reminder_email", "no active recipient", reminder_id=reminder_id)
        return "skipped"
    if LessonProgress.objects.filter(
        user_id=reminder.user_id, lesson_id=reminder.lesson_id, completed_at__isnull=False
    ).exists():
        _skip("send_date_reminder_email", "lesson completed", reminder_id=reminder_id)
        return "skipped"
    lesson = reminder.lesson
    course = CoursePage.objects.filter(path=lesson.course_path).only("title", "url_path").first()
    outcome = send_once(
        key=f"date_reminder:{reminder.pk}",
        template="date_reminder",
        to=reminder.user.email,
        context={
            "user": reminder.user,
            "overdue": reminder.kind == DateReminder.Kind.OVERDUE,
            "lesson_title": lesson.title,
            "course_title": course.title if course else "",
            "when": reminder_text(reminder.kind, reminder.due_at) if reminder.due_at else "",
            "lesson_url": absolute_url(lesson.url or "/dashboard/"),
        },
        task="learning.tasks.send_date_reminder_email",
        task_kwargs={"reminder_id": reminder_id},
    )
    return outcome.value


# Stalled emails are looked for this often; a delivery counts as stalled after twice the
# broker's retry window (6 minutes by default), so one is re-sent 6 to 11 minutes after its loss.
RESEND_STALLED_EMAILS_MINUTES = 5

SCHEDULES = [
    ScheduledTask("publish_scheduled_pages", "learning.tasks.publish_scheduled_pages", minutes=1),
    ScheduledTask("resend_stalled_emails", "learning.tasks.resend_stalled_emails", minutes=RESEND_STALLED_EMAILS_MINUTES),
    ScheduledTask("cleanup_expired_sessions", "learning.tasks.cleanup_expired_sessions", minutes=MINUTES_PER_DAY),
    ScheduledTask("prune_idempotency_keys", "learning.tasks.prune_idempotency_keys", minutes=MINUTES_PER_HOUR),
    ScheduledTask("sweep_event_outbox", "learning.tasks.sweep_event_outbox", minutes=OUTBOX_SWEEP_MINUTES),
    ScheduledTask("prune_event_outbox", "learning.tasks.prune_event_outbox", minutes=MINUTES_PER_HOUR),
    ScheduledTask("clear_expired_oauth_tokens", "learning.tasks.clear_expired_oauth_tokens", minutes=MINUTES_PER_DAY),
    ScheduledTask("send_date_reminders", "learning.tasks.send_date_reminders", minutes=DATE_REMINDER_MINUTES),
    ScheduledTask(
        "prune_read_notifications",
        "learning.tasks.prune_read_notifications",
        minutes=MINUTES_PER_DAY,
        kwargs={"days": READ_NOTIFICATION_RETENTION_DAYS},
    ),
]
