"""Background work of discussions: the followers' notifications of a reply, and the email digest.

``notify_reply`` (enqueued by every visible reply) gives each follower but the replier one
in-app notification (pushed live by core) and a line in their next digest; a follower who may no
longer read the thread gets neither. ``send_digests`` (a schedule) sends each user with new lines
one email per period: the ``Digest`` row per user and period is the claim, so a second run (or a
retried one) of the same period sends nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from academy.sdk import InvalidInput, ScheduledTask, absolute_url, env_int, notification_create
from plugins.discussions import services
from plugins.discussions.models import Digest, DigestItem, Follow, Post

logger = logging.getLogger(__name__)

#: Minutes between digests (a day by default); one email per user and period at most.
DIGEST_MINUTES = env_int("DISCUSSIONS_DIGEST_MINUTES", 1440)
#: The most lines one digest lists (the rest are summed up as "and N more").
DIGEST_LINES = 50


def thread_url(thread: Any) -> str:
    """The site path of a thread's page."""
    return f"/p/discussions/threads/{thread.pk}/"


def notify_reply(*, post_id: int) -> int:
    """One notification per follower (not the replier) who may still read the thread, and a
    digest line each; safe to run twice (the digest line is unique, the notification is made
    only with a new line). Returns how many were notified."""
    post = Post.objects.select_related("thread", "thread__course", "thread__lesson", "author").filter(pk=post_id).first()
    if post is None or post.removed or post.pending:
        return 0
    thread = post.thread
    followers = Follow.objects.filter(thread_id=thread.pk).exclude(user_id=post.author_id).select_related("user")
    notified = 0
    for follow in followers:
        place = services.place_for(follow.user, course=thread.course, lesson=thread.lesson)
        if not place.can_read or not services.visible_threads(place).filter(pk=thread.pk).exists():
            continue
        try:
            with transaction.atomic():
                _item, created = DigestItem.objects.get_or_create(user_id=follow.user_id, post_id=post.pk)
                if created:
                    name = post.author.get_full_name() or post.author.get_username()
                    notification_create(
                        user=follow.user, kind="announcement", title=f"New reply to “{thread.title}”"[:200],
                        body=f"{name} replied.", link=thread_url(thread),
                    )
        except (IntegrityError, InvalidInput):
            continue
        notified += created
    return notified


def period_of(moment: datetime, minutes: int = DIGEST_MINUTES) -> str:
    """The period ``moment`` falls in: its start, as text (``2026-12-04T00:00``)."""
    epoch = int(moment.timestamp()) // (minutes * 60) * (minutes * 60)
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M")


def send_digests(*, now: datetime | None = None) -> int:
    """Email each user their pending digest lines, at most once per period. Returns the number
    of emails sent."""
    moment = now or timezone.now()
    period = period_of(moment)
    users = DigestItem.objects.filter(digest__isnull=True).values_list("user_id", flat=True).distinct()
    sent = 0
    for user in get_user_model().objects.filter(pk__in=list(users), is_active=True):
        try:
            with transaction.atomic():
                digest = Digest.objects.create(user=user, period=period)
        except IntegrityError:
            continue  # this period's digest was already made
        if _send_digest(user, digest):
            sent += 1
    return sent


def _send_digest(user: Any, digest: Digest) -> bool:
    items = list(
        DigestItem.objects.filter(user_id=user.pk, digest__isnull=True)
        .select_related("post", "post__author", "post__thread", "post__thread__course", "post__thread__lesson")
        .order_by("pk")
    )
    DigestItem.objects.filter(pk__in=[item.pk for item in items]).update(digest=digest)
    lines = []
    for item in items:
        thread = item.post.thread
        place = services.place_for(user, course=thread.course, lesson=thread.lesson)
        if item.post.removed or not place.can_read or not services.visible_threads(place).filter(pk=thread.pk).exists():
            continue
        lines.append({
            "thread_title": thread.title, "author": item.post.author.get_full_name() or item.post.author.get_username(),
            "url": absolute_url(thread_url(thread)), "course_title": thread.course.title,
        })
    if not lines or not user.email:
        return False
    context = {"user": user, "lines": lines[:DIGEST_LINES], "more": max(0, len(lines) - DIGEST_LINES),
               "site_name": settings.WAGTAIL_SITE_NAME, "dashboard_url": absolute_url("/dashboard/")}
    subject = " ".join(render_to_string("discussions/email/digest.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("discussions/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
        headers={"Auto-Submitted": "auto-generated", "X-Academy-Email": "discussions_digest"},
    )
    message.attach_alternative(render_to_string("discussions/email/digest.html", context), "text/html")
    message.send()
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())
    return True


SCHEDULES = [
    ScheduledTask("send_digests", "plugins.discussions.tasks.send_digests", minutes=DIGEST_MINUTES),
]


