"""Background tasks of the certificates plugin (Django-Q2), thin wrappers taking ids.

Every task is safe to run twice and after a worker was killed in the middle of it
(``plugins.certificates.services``). ``SCHEDULES``: certificates left without their PDF (a task
lost with a worker on the Redis broker, a render that kept failing) are rendered again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from academy.schedules import ScheduledTask
from academy.tasks import enqueue
from plugins.certificates import conf, services
from plugins.certificates.models import Certificate

logger = logging.getLogger(__name__)

RENDER_PENDING_MINUTES = 5
# The most pending certificates one run of the schedule enqueues (the rest wait for the next run).
RENDER_PENDING_BATCH = 200


def issue_certificate(*, user_id: int, course_id: int) -> str:
    """Issue the learner's certificate for a completed course and render its PDF (once)."""
    certificate = services.certificate_issue(user_id=user_id, course_id=course_id)
    if certificate is None:
        logger.info("issue_certificate skipped (course not completed): user_id=%s, course_id=%s", user_id, course_id)
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


SCHEDULES = [
    ScheduledTask(
        "render_pending_certificates",
        "plugins.certificates.tasks.render_pending_certificates",
        minutes=RENDER_PENDING_MINUTES,
    ),
]
