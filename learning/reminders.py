"""Date reminders: "due within 24 hours" and "overdue", each sent once per learner and lesson.

A schedule (``learning.tasks.send_date_reminders``, every ``DATE_REMINDER_MINUTES`` minutes) calls
:func:`send_date_reminders` with the current time; tests call it with the moment they want.
For every live lesson with a due date, every learner with access to its course (an active or
completed enrollment, the course and lesson visible to them, the lesson open to them) who has
not completed it gets:

- ``due_soon`` when the lesson is due within ``DUE_SOON_HOURS`` hours;
- ``overdue`` once the due date has passed (looking back at most ``OVERDUE_LOOKBACK_DAYS``
  days, so a site that turns dates on does not remind everyone of last year).

Once only: a ``DateReminder`` row (unique per user, lesson and kind) is inserted first, in its
own savepoint; the run that inserts it, and only that run, creates the in-app notification
(``services.notification_create``: pushed live after commit) and enqueues the email
(``learning.tasks.send_date_reminder_email``, sent by the worker after commit through
``academy.email.send_once``). Two runs at once (two workers, PostgreSQL) collide on the unique
constraint: one wins, the other skips. Running the schedule twice sends nothing twice.

There are no per-learner notification preferences in Academy yet; a learner without an email
address or an inactive account gets no email (the notification still records the reminder).

Queries: two to find the courses with due dates (one while the page tree is cached), then per course with a due date two
for the learners' dates, plus one insert (and the notification) per reminder sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from academy.tasks import enqueue
from courses.models import CoursePage
from learning import access, dates
from learning.models import DateReminder, Enrollment, Notification
from learning.services import notification_create

logger = logging.getLogger(__name__)

# A lesson due within this many hours gets its "due soon" reminder.
DUE_SOON_HOURS = 24
# Overdue reminders look back at most this many days past the due date.
OVERDUE_LOOKBACK_DAYS = 7

_NOTIFICATION_KIND = {
    DateReminder.Kind.DUE_SOON: Notification.Kind.LESSON_DUE,
    DateReminder.Kind.OVERDUE: Notification.Kind.LESSON_OVERDUE,
}


@dataclass(frozen=True)
class ReminderRun:
    """What one run sent (and found already sent)."""

    sent: int
    already_sent: int


def _title(kind: str, lesson_title: str, course_title: str) -> str:
    what = "is due soon" if kind == DateReminder.Kind.DUE_SOON else "is overdue"
    return f"{course_title}: \u201c{lesson_title}\u201d {what}"[:200]


def reminder_text(kind: str, due_at: datetime) -> str:
    """The reminder's sentence about the due date, in the site's time zone."""
    local = timezone.localtime(due_at)
    when = f"{local:%d %B %Y} at {local:%H:%M}"
    if kind == DateReminder.Kind.DUE_SOON:
        return f"Due on {when}. Complete it before then."
    return f"It was due on {when}. Complete it as soon as you can."


def _reminder_kind(due_at: datetime, now: datetime) -> str | None:
    if now > due_at:
        return DateReminder.Kind.OVERDUE if now - due_at <= timedelta(days=OVERDUE_LOOKBACK_DAYS) else None
    if due_at - now <= timedelta(hours=DUE_SOON_HOURS):
        return DateReminder.Kind.DUE_SOON
    return None


def send_date_reminders(*, now: datetime) -> ReminderRun:
    """Send the reminders due at ``now`` (see the module docstring); each at most once ever."""
    course_paths = dates.due_course_paths()
    if not course_paths:
        return ReminderRun(sent=0, already_sent=0)
    courses = list(CoursePage.objects.live().filter(path__in=course_paths).only("id", "path", "title"))
    sent = already = 0
    for course in courses:
        rules = dates.course_rules(course_id=course.pk, course_path=course.path)
        enrollments = Enrollment.objects.filter(
            access.access_status_filter(), course_id=course.pk, user__is_active=True
        ).order_by("pk")
        learners = dates.course_learners_dates(
            course_id=course.pk, course_path=course.path, enrollments=enrollments, rules=rules
        )
        if not learners:
            continue
        page_paths = [course.path, *[rule.path for rule in rules.lessons]]
        page_rules = access.page_rules(page_paths)
        users = {user.pk: user for user in _users([learner.user_id for learner in learners])}
        for learner in learners:
            user = users.get(learner.user_id)
            if user is None:
                continue
            who = access.viewer(user)
            if not page_rules.visibility(course.path, who).visible:
                continue
            for rule in rules.lessons:
                when = learner.of(rule.pk)
                if when.due_at is None or rule.pk in learner.completed_at or not when.is_open(now):
                    continue
                kind = _reminder_kind(when.due_at, now)
                if kind is None or not page_rules.visibility(rule.path, who).visible:
                    continue
                if _send_once(user=user, rule=rule, course=course, kind=kind, due_at=when.due_at):
                    sent += 1
                else:
                    already += 1
    return ReminderRun(sent=sent, already_sent=already)


def _users(user_ids: list[int]) -> list[object]:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(pk__in=user_ids))


def _send_once(*, user: object, rule: dates.LessonRule, course: CoursePage, kind: str, due_at: datetime) -> bool:
    """Record the reminder, then notify and queue its email; False when it was already sent."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                reminder = DateReminder.objects.create(user=user, lesson_id=rule.pk, kind=kind, due_at=due_at)
        except IntegrityError:
            return False
        notification_create(
            user=user, kind=_NOTIFICATION_KIND[kind], title=_title(kind, rule.title, course.title),
            body=reminder_text(kind, due_at), link=_lesson_link(rule),
        )
        enqueue("learning.tasks.send_date_reminder_email", reminder_id=reminder.pk)
    logger.info("date reminder %s of lesson %s sent to user %s", kind, rule.pk, getattr(user, "pk", None))
    return True


def _lesson_link(rule: dates.LessonRule) -> str:
    """The lesson's site path (the notification's link), "" when it has no URL."""
    from learning.selectors import PageUrls

    return PageUrls().url(rule.url_path)


__all__ = [
    "DUE_SOON_HOURS",
    "OVERDUE_LOOKBACK_DAYS",
    "ReminderRun",
    "reminder_text",
    "send_date_reminders",
]
