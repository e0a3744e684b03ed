"""Operational records shared by every app: idempotency keys of side effects done by tasks.

A task may be delivered more than once (the ORM broker re-delivers a task whose worker died,
and a retry runs a task again), so side effects that must happen once -- an email, a fan-out of
notifications -- record a key here, in the same database as the rest of the data.
"""

from __future__ import annotations

from django.db import models


class EmailDelivery(models.Model):
    """One email that must be sent at most once per ``key`` (e.g. ``enrollment:12:activated:…``).

    The sending task claims the row for a short lease (so two copies of a task never send at the
    same time), sends, then marks it sent. A copy delivered later sees ``sent`` and stops.

    ``task`` and ``task_kwargs`` name the task that sends it, so a delivery left ``pending`` (its
    task lost with a killed worker on the Redis broker, or a failure the broker did not retry)
    is enqueued again by the reconciler (``academy.email.requeue_stalled_deliveries``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"

    key = models.CharField(max_length=200, unique=True)
    template = models.CharField(max_length=100)
    recipient = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When a copy of the task last claimed it, or the reconciler last enqueued it again.
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    task = models.CharField(max_length=200, blank=True)
    task_kwargs = models.JSONField(default=dict, blank=True)
    requeues = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        # Moved from the siteconfig app; the table keeps its name (no data migration).
        db_table = "siteconfig_emaildelivery"
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="emaildelivery_status_created")]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient} ({self.status})"


class SideEffectRecord(models.Model):
    """A once-only side effect other than email (e.g. one "course updated" notification per
    learner and revision): the row is written in the same transaction as the effect."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        db_table = "siteconfig_sideeffectrecord"

    def __str__(self) -> str:
        return self.key
