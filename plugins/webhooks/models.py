"""Webhook subscriptions and their deliveries (the delivery log).

A :class:`Subscription` names a target URL, the event types it wants, optionally one course,
and its signing secret. A :class:`Delivery` is one event for one subscription: unique per
(subscription, event id), so however often an event is seen it is sent to a subscription once
(and retried until it succeeds, or is given up as ``dead``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

URL_MAX_LENGTH = 2000
EVENT_ID_MAX_LENGTH = 100


class Subscription(models.Model):
    """Where to send which events, signed with which secret."""

    name = models.CharField(max_length=200)
    target_url = models.URLField("target URL", max_length=URL_MAX_LENGTH)
    event_types = models.JSONField(default=list, help_text="Names of the events to send.")
    course = models.ForeignKey(
        "courses.CoursePage", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="Only this course's events (every course when empty).",
    )
    secret = models.CharField(max_length=100, editable=False)
    # After a rotation the old secret still signs (a second signature) until it expires, so a
    # receiver can switch without losing requests.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str, course_id: int | None) -> bool:
        """Whether an event of ``event_type`` about ``course_id`` is for this subscription."""
        if event_type not in (self.event_types or []):
            return False
        return self.course_id is None or self.course_id == course_id

    def signing_secrets(self, now: object = None) -> list[str]:
        """The secrets that sign a request now: the current one, and the previous one during
        its grace period after a rotation."""
        moment = now or timezone.now()
        secrets_ = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > moment:
            secrets_.append(self.previous_secret)
        return secrets_


class Delivery(models.Model):
    """One event sent (or to send) to one subscription, with the outcome of its last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Given up"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=EVENT_ID_MAX_LENGTH)
    event_type = models.CharField(max_length=100)
    course_id = models.IntegerField(null=True, blank=True)
    payload = models.JSONField(help_text="The request body, as sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker sending the delivery owns it until ``leased_until``; ``lease_token`` tells its
    # outcome from a late one of a worker whose lease ran out.
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True, help_text="The start of the last answer's body.")
    last_error = models.CharField(max_length=500, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhooks_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.subscription_id}"
