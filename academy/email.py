"""Transactional email: rendering (HTML + plain text) and once-only delivery.

Only task code calls :func:`send_once`; no request path sends mail. Templates live in
``templates/email/<name>.subject.txt``, ``<name>.txt`` and ``<name>.html`` and get the site's
name and absolute base URL (``settings.ACADEMY_BASE_URL``), so links point at the public host
whatever process renders them.

Idempotency: every email has a key (what it is about, e.g. ``enrollment:12:activated:<time>``).
The first copy of a task to claim the key sends; a copy delivered later (a retry, a re-delivery
after a worker died) finds it sent and stops. The Message-ID is derived from the key too, so a
mail server or client that sees the same message twice can tell.

Nothing lost: the delivery row names the task that sends it. A row still ``pending`` after the
broker's retry window (the Redis broker drops a task whose worker died and does not retry
failures) is enqueued again by :func:`requeue_stalled_deliveries` (a schedule); the key keeps
it at one email whichever copy gets there first.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from academy.models import EmailDelivery

logger = logging.getLogger(__name__)

# How long a sending task holds a key before another copy may try again. Shorter than the
# broker's retry delay, so a copy re-delivered after a worker died can always claim it.
CLAIM_SECONDS = int(settings.Q_CLUSTER["timeout"])  # type: ignore[call-overload]


class Outcome(enum.StrEnum):
    """What :func:`send_once` did."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"


class EmailInProgress(RuntimeError):
    """Another copy of the task holds the key right now. Raised (not swallowed) so the broker
    tries again later: by then the other copy has sent it, or died and its claim expired."""


def absolute_url(path: str) -> str:
    """``path`` (``/courses/x/``) as an absolute URL on the public host."""
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.ACADEMY_BASE_URL}/{path.lstrip('/')}"


def base_context() -> dict[str, Any]:
    """What every email template gets: site name, base URL and a few standard links."""
    return {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "base_url": settings.ACADEMY_BASE_URL,
        "dashboard_url": absolute_url("/dashboard/"),
        "catalog_url": absolute_url("/courses/"),
    }


def message_id_for(key: str) -> str:
    """A stable Message-ID for an idempotency key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = urlsplit(settings.ACADEMY_BASE_URL).hostname or "academy.localhost"
    return f"<{digest}@{domain}>"


def render_email(*, template: str, to: str, context: dict[str, Any], key: str) -> EmailMultiAlternatives:
    """Build the message for ``template`` (subject, plain text, HTML alternative, headers)."""
    full_context = {**base_context(), **context}
    subject = " ".join(render_to_string(f"email/{template}.subject.txt", full_context).split())
    text = render_to_string(f"email/{template}.txt", full_context)
    html = render_to_string(f"email/{template}.html", full_context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "Message-ID": message_id_for(key),
            # Automatic mail: tells vacation responders and mail clients not to answer it.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "X-Academy-Email": template,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def send_once(
    *, key: str, template: str, to: str, context: dict[str, Any], task: str, task_kwargs: dict[str, Any]
) -> Outcome:
    """Send the email ``template`` to ``to`` unless an email with ``key`` was already sent.

    Claims the key for :data:`CLAIM_SECONDS`, sends, then records it as sent. Raises the mail
    backend's error (after releasing the claim) so the task is retried, and
    :class:`EmailInProgress` while another copy holds the claim. ``task`` (dotted path) and
    ``task_kwargs`` (ids and strings) are the call that sends this email again: the reconciler
    uses them when the delivery stays pending.
    """
    delivery, _ = EmailDelivery.objects.get_or_create(
        key=key, defaults={"template": template, "recipient": to, "task": task, "task_kwargs": task_kwargs}
    )
    if delivery.status == EmailDelivery.Status.SENT:
        logger.info("email %s already sent, not sending again", key)
        return Outcome.ALREADY_SENT
    now = timezone.now()
    claimed = (
        EmailDelivery.objects.filter(pk=delivery.pk, status=EmailDelivery.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
            last_attempt_at=now,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        raise EmailInProgress(f"email {key} is being sent by another worker")
    message = render_email(template=template, to=to, context=context, key=key)
    try:
        message.send()
    except Exception:
        EmailDelivery.objects.filter(pk=delivery.pk).update(claimed_until=None)
        raise
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status=EmailDelivery.Status.SENT,
        sent_at=timezone.now(),
        claimed_until=None,
        subject=message.subject[:300],
        recipient=to,
        message_id=message.extra_headers["Message-ID"],
    )
    logger.info("email %s sent to %s", key, to)
    return Outcome.SENT


def requeue_stalled_deliveries(*, stalled_seconds: float | None = None, max_requeues: int | None = None) -> int:
    """Enqueue again the task of every delivery left pending; returns how many were enqueued.

    A delivery is stalled when it is still ``pending``, nobody holds its claim, and neither a
    task nor this function touched it for ``stalled_seconds`` (default: twice the broker's
    ``retry``, so the ORM broker's own re-delivery goes first and this only catches what a
    broker dropped). Each row is enqueued at most ``max_requeues`` times (default
    ``ACADEMY_EMAIL_MAX_REQUEUES``): a task that keeps skipping it (the enrollment was cancelled)
    or failing (an address the server refuses) is left pending for an operator, with a warning.
    A conditional update claims each row first, so two reconcilers running at once enqueue a
    row once; were it enqueued twice, the key still sends one email.

    Queries: one select, then one update per stalled row.
    """
    if stalled_seconds is None:
        stalled_seconds = 2 * int(settings.Q_CLUSTER["retry"])  # type: ignore[call-overload]
    if max_requeues is None:
        max_requeues = int(settings.Q_CLUSTER["max_attempts"])  # type: ignore[call-overload]
    # Imported here: the task plumbing is not needed to render or send a single email.
    from academy.tasks import enqueue

    now = timezone.now()
    cutoff = now - timedelta(seconds=stalled_seconds)
    stalled = list(
        EmailDelivery.objects.filter(status=EmailDelivery.Status.PENDING, requeues__lt=max_requeues)
        .exclude(task="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at__isnull=True, created_at__lt=cutoff))
        .order_by("pk")
        .values_list("pk", "key", "task", "task_kwargs", "requeues")
    )
    enqueued = 0
    for pk, key, task, task_kwargs, requeues in stalled:
        won = EmailDelivery.objects.filter(
            pk=pk, status=EmailDelivery.Status.PENDING, requeues=requeues
        ).update(requeues=requeues + 1, last_attempt_at=now)
        if not won:
            continue  # sent meanwhile, or another reconciler took it
        enqueue(task, **task_kwargs)
        enqueued += 1
        if requeues + 1 >= max_requeues:
            logger.warning("email %s enqueued again for the last time (%d); if it stays pending, look at it", key, requeues + 1)
        else:
            logger.info("email %s was still pending: its task %s is enqueued again", key, task)
    return enqueued
