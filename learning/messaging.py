"""Messages from staff to the learners of a course (all of them or a filtered subset).

``course_message_create`` freezes the audience into one ``CourseMessageRecipient`` row per
learner (the record of who it went to), counts against the sender's rate limit
(``ACADEMY_LIMIT_COURSE_MESSAGES``) and queues ``learning.tasks.deliver_course_message``, which
gives each recipient an in-app notification (pushed live by the realtime layer) once, and
queues their email (sent once per message and learner, ``academy.email.send_once``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from academy import ratelimit
from academy.tasks import enqueue
from courses.models import CoursePage
from learning import access, services, staff_selectors
from learning.models import CourseMessage, CourseMessageRecipient, Enrollment, Notification

SUBJECT_MAX = 200
BODY_MAX = 5000
# Who a message can go to: the learner list's filters, cancelled enrollments never.
AUDIENCES = [
    ("", "Every learner with access"),
    (Enrollment.Status.ACTIVE, "Active (not completed)"),
    (Enrollment.Status.COMPLETED, "Completed"),
    (staff_selectors.NOT_STARTED, "Not started"),
    (staff_selectors.STUCK, "No activity for 7 days"),
    (Enrollment.Status.PENDING_APPROVAL, "Pending approval"),
]
# The learners ticked on the learner list ("Message selected"): the enrollment ids come along.
SELECTED = "selected"
# The most learners one "selected" message names (a larger group is a filter).
MAX_SELECTED = 1000


def selected_ids(raw: list[str]) -> list[int]:
    """The enrollment ids of a "selected" audience from form values (non-numbers dropped)."""
    return sorted({int(value) for value in raw[: MAX_SELECTED + 1] if value.isdigit() and len(value) < 19})


def audience(
    *, course_id: int, audience: str, scope: Q | None = None, enrollment_ids: list[int] | None = None
) -> QuerySet[Enrollment]:
    """The enrollments a message to ``audience`` goes to (active users only), within ``scope``
    (``learning.cohorts.learner_scope``: a cohort, the sender's cohorts); for ``selected``, those
    of ``enrollment_ids`` in the course. One query."""
    selected = audience == SELECTED
    rows = staff_selectors.course_learners(
        course_id=course_id, status="" if selected else audience, scope=scope
    ).filter(user__is_active=True)
    if selected:
        rows = rows.filter(pk__in=enrollment_ids or [])
    if not audience:
        rows = rows.filter(access.access_status_filter())
    return rows.exclude(status=Enrollment.Status.CANCELLED)


def _limit(by: Any) -> ratelimit.Limit:
    return ratelimit.Limit("course_message", str(by.pk), ratelimit.Rate.parse(settings.RATELIMIT_COURSE_MESSAGES))


def course_message_create(
    *, course: CoursePage, by: Any, audience_key: str, subject: str, body: str, cohort: Any = None,
    enrollment_ids: list[int] | None = None,
) -> CourseMessage:
    """Record a message to the learners of ``course`` in ``audience_key`` (for ``selected``: the
    enrollments ``enrollment_ids``, at most ``MAX_SELECTED``) and queue its delivery.

    With ``cohort`` (one of the course's, a ``Cohort`` or its id), only its learners; a teacher
    of some cohorts writes to their cohorts' learners only, whatever they choose.

    Raises ``InvalidInput`` (400: empty or too long texts, unknown audience, nobody in it),
    ``Forbidden`` (403: no permission to manage enrollments) and ``RateLimited`` (429).
    """
    services._require_manager(by)
    subject, body = (subject or "").strip(), (body or "").strip()
    if audience_key not in {key for key, _label in AUDIENCES} | {SELECTED}:
        raise services.InvalidInput("Choose who the message goes to.")
    if audience_key == SELECTED and len(enrollment_ids or []) > MAX_SELECTED:
        raise services.InvalidInput(f"Choose at most {MAX_SELECTED} learners; for more, use a group of learners.")
    if not subject or len(subject) > SUBJECT_MAX:
        raise services.InvalidInput(f"Write a subject of 1 to {SUBJECT_MAX} characters.")
    if not body or len(body) > BODY_MAX:
        raise services.InvalidInput(f"Write a message of 1 to {BODY_MAX} characters.")
    from learning import cohorts

    chosen = cohorts.cohort_in_course(course=course, cohort=cohort)
    scope = cohorts.learner_scope(access.viewer(by), course, cohort=chosen, manage=True)
    user_ids = list(audience(
        course_id=course.pk, audience=audience_key, scope=scope, enrollment_ids=enrollment_ids
    ).values_list("user_id", flat=True))
    if not user_ids:
        raise services.InvalidInput("Nobody is in that group of learners right now.")
    decision = ratelimit.check([_limit(by)], door="course_message")
    if not decision.allowed:
        raise RateLimited(
            f"You sent many messages recently; try again in {ratelimit.wait_text(decision.retry_after)}.",
            retry_after=decision.retry_after,
        )
    with transaction.atomic():
        message = CourseMessage.objects.create(
            course=course, sender=by, audience=audience_key, subject=subject, body=body, recipient_count=len(user_ids)
        )
        CourseMessageRecipient.objects.bulk_create(
            [CourseMessageRecipient(message=message, user_id=user_id) for user_id in user_ids], batch_size=1000
        )
        enqueue("learning.tasks.deliver_course_message", message_id=message.pk)
    return message


class RateLimited(services.RateLimited):
    """Too many messages from one staff member (429)."""

    default_message = "Too many messages; try again later."


def course_message_deliver(*, message_id: int) -> int:
    """Give every recipient of a message its notification (once) and queue its email.
    Returns how many notifications this call created (0 when run again)."""
    message = CourseMessage.objects.select_related("course").filter(pk=message_id).first()
    if message is None:
        return 0
    created = 0
    pending = CourseMessageRecipient.objects.filter(message=message, notification__isnull=True).select_related("user")
    for recipient_id in pending.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            recipient = (
                CourseMessageRecipient.objects.select_for_update(of=("self",)).select_related("user")
                .filter(pk=recipient_id, notification__isnull=True).first()
            )
            if recipient is None:
                continue  # a concurrent copy of the task delivered it
            notification = services.notification_create(
                user=recipient.user,
                kind=Notification.Kind.ANNOUNCEMENT,
                title=f"{message.course.title}: {message.subject}"[:SUBJECT_MAX],
                body=message.body,
                link=message.course.url or "",
            )
            recipient.notification = notification
            recipient.save(update_fields=["notification"])
            enqueue("learning.tasks.send_course_message_email", recipient_id=recipient.pk)
            created += 1
    CourseMessage.objects.filter(pk=message.pk).update(status=CourseMessage.Status.SENT, sent_at=timezone.now())
    return created
