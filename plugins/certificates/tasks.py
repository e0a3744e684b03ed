"""Background tasks of the certificates plugin (Django-Q2), thin wrappers taking ids.

Every task is safe to run twice and after a worker was killed in the middle of it
(``plugins.certificates.services``). ``SCHEDULES``: certificates left without their PDF (a task
lost with a worker on the Redis broker, a render that kept failing) are rendered again, and
recent completions left without a certificate (their issue task lost) are issued.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from academy.sdk import Enrollment, ScheduledTask, activation_table, enqueue, is_active
from plugins.certificates import conf, services
from plugins.certificates.models import Certificate

logger = logging.getLogger(__name__)

RENDER_PENDING_MINUTES = 5
# The most pending certificates one run of the schedule enqueues (the rest wait for the next run).
RENDER_PENDING_BATCH = 200
# Completions older than this are not issued by the reconciler: switching certificates on for a
# course does not issue them for its past completions.
ISSUE_MISSING_WINDOW_HOURS = 24
ISSUE_TASK = "plugins.certificates.tasks.issue_certificate"


def issue_certificate(*, user_id: int, course_id: int) -> str:
    """Issue the learner's certificate for a completed course and render its PDF (once)."""
    certificate = services.certificate_issue(user_id=user_id, course_id=course_id)
    if certificate is None:
        logger.info("issue_certificate skipped (course not completed, or its pass grade not reached): user_id=%s, course_id=%s", user_id, course_id)
        return "skipped"
    rendered = services.certificate_render(certificate_id=certificate.pk)
    return "rendered" if rendered else "unchanged"


def render_certificate(*, certificate_id: int) -> str:
    """Render and store the PDF of a certificate's current revision (after a reissue)."""
    return "rendered" if services.certificate_render(certificate_id=certificate_id) else "unchanged"


def render_pending_certificates(*, stalled_seconds: int | None = None) -> int:
    """Enqueue a render for every certificate whose PDF is still missing ``stalled_seconds``
    after its last change; returns how many were enqueued."""
    if stalled_seconds is None:
        stalled_seconds = conf.render_stall_seconds()
    cutoff = timezone.now() - timedelta(seconds=stalled_seconds)
    pending = list(
        Certificate.objects.exclude(rendered_revision=F("revision"))
        .filter(updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:RENDER_PENDING_BATCH]
    )
    for certificate_id in pending:
        enqueue("plugins.certificates.tasks.render_certificate", certificate_id=certificate_id)
    if pending:
        logger.info("render_pending_certificates: %d certificates enqueued again", len(pending))
    return len(pending)


def issue_missing_certificates(*, stalled_seconds: int | None = None, window_hours: int = ISSUE_MISSING_WINDOW_HOURS) -> int:
    """Enqueue the issue task for every learner who completed a course where certificates are on,
    between ``window_hours`` and ``stalled_seconds`` ago, and has no certificate for it (the task
    was lost: the Redis broker drops a task whose worker died). Returns how many were enqueued."""
    if stalled_seconds is None:
        stalled_seconds = conf.render_stall_seconds()
    now = timezone.now()
    has_certificate = Certificate.objects.filter(user_id=OuterRef("user_id"), course_id=OuterRef("course_id"))
    missing = list(
        Enrollment.objects.filter(
            status=Enrollment.Status.COMPLETED,
            completed_at__gte=now - timedelta(hours=window_hours),
            completed_at__lt=now - timedelta(seconds=stalled_seconds),
        )
        .exclude(Exists(has_certificate))
        .order_by("completed_at")
        .values_list("user_id", "course_id")[:RENDER_PENDING_BATCH]
    )
    current = activation_table()
    enqueued = 0
    for user_id, course_id in missing:
        if is_active("certificates", course_id=course_id, current=current):
            enqueue(ISSUE_TASK, user_id=user_id, course_id=course_id)
            enqueued += 1
    if enqueued:
        logger.info("issue_missing_certificates: %d completions without a certificate enqueued", enqueued)
    return enqueued


SCHEDULES = [
    ScheduledTask(
        "render_pending_certificates",
        "plugins.certificates.tasks.render_pending_certificates",
        minutes=RENDER_PENDING_MINUTES,
    ),
    ScheduledTask(
        "issue_missing_certificates",
        "plugins.certificates.tasks.issue_missing_certificates",
        minutes=RENDER_PENDING_MINUTES,
    ),
]
