"""Records shared by every app: idempotency keys of side effects done by tasks, plugin activation,
the domain events stored for durable receivers (the event outbox).

A task may be delivered more than once (the ORM broker re-delivers a task whose worker died,
and a retry runs a task again), so side effects that must happen once -- an email, a fan-out of
notifications -- record a key here, in the same database as the rest of the data.
"""

from __future__ import annotations

from django.conf import settings
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


class IdempotentRequest(models.Model):
    """An API write sent with an ``Idempotency-Key`` and the answer it got (``academy.idempotency``):
    a retry with the same key (a timeout, a dropped connection) gets that answer again instead of
    acting twice. ``status_code`` is empty while the first request is still running."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotentrequest_one_per_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotentrequest_created")]

    def __str__(self) -> str:
        return f"{self.key} of user {self.user_id} ({self.status_code or 'running'})"


class PluginActivation(models.Model):
    """An editor's choice for one plugin, site-wide (``course`` empty) or for one course page.

    Site-wide ``state``: ``on`` (active in every course unless a course switches it off),
    ``optin`` (off unless a course switches it on) or ``off`` (disabled everywhere). For a course:
    ``on`` or ``off``; no row means "as the site says". Read through
    :mod:`academy.plugins.activation` (cached); a plugin's data is kept when it is switched off.
    """

    class State(models.TextChoices):
        ON = "on", "On"
        OPT_IN = "optin", "Off unless a course switches it on"
        OFF = "off", "Off"

    plugin = models.CharField(max_length=100)
    course = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plugin", "course"], name="pluginactivation_one_per_course"),
            models.UniqueConstraint(
                fields=["plugin"], condition=models.Q(course__isnull=True), name="pluginactivation_one_per_site"
            ),
        ]

    def __str__(self) -> str:
        where = f"course {self.course_id}" if self.course_id else "site"
        return f"{self.plugin} {self.state} ({where})"


class OutboxEvent(models.Model):
    """A domain event stored for its durable receivers (``academy.events``), written in the same
    transaction as the change it announces: it exists exactly when that change committed.

    ``done_at`` is set once every durable receiver ran without error, right after the commit
    (the fast path) or by the sweep (``academy.events.outbox_sweep``) for a row the fast path
    never finished (a killed web process). ``attempts`` counts the sweep's tries; done rows and
    given-up ones are pruned later (``academy.events.outbox_prune``).
    """

    event_id = models.UUIDField(primary_key=True, help_text="The occurrence's id, passed to receivers as event_id.")
    name = models.CharField(max_length=100, help_text="The event's name (academy.events.EVENTS).")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The sweep's question: rows not done, oldest first (a small part of the table).
            models.Index(fields=["created_at"], condition=models.Q(done_at__isnull=True), name="outboxevent_pending"),
            models.Index(fields=["done_at"], name="outboxevent_done"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.event_id} ({'done' if self.done_at else 'pending'})"
