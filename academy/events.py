"""Typed, course-scoped domain events: the main seam between core and plugins.

An :class:`Event` is a Django signal bound to the TypedDict of its payload. ``event.emit(payload)``
sends it after the writing transaction commits (inside a request, after the response is sent:
``academy.middleware``), so the type checker sees a wrong payload at the call site, and a schema
check (``ACADEMY_CHECK_EVENTS``, on in the tests) refuses one at run time.

Dispatch is ``send_robust``-style: a receiver that raises is logged (and so reported to Sentry)
and never breaks the request or the other receivers. A receiver that belongs to a plugin runs only
where the plugin is active: for the payload's ``course_id`` when the payload has one, site-wide
otherwise (pretix's per-event plugin signals work the same way). Core's receivers always run.

Every occurrence has an id (``event_id``, a UUID drawn by ``emit``) that receivers get as a
keyword argument, the same on every delivery of that occurrence.

**Durable receivers** (``connect(event, durable=True)``) lose nothing: when an event that has one
active here is emitted, an :class:`academy.models.OutboxEvent` row (event id, name, payload) is
written in the emitting transaction, so it exists exactly when the change committed. After the
commit the receivers run as for any event (the fast path) and the row is marked done once every
durable receiver ran without raising. A row the fast path never finished (the web process was
killed between the commit and its receivers, or a durable receiver raised) is picked up by
:func:`outbox_sweep` (a schedule, every minute) after ``OUTBOX_GRACE``: it runs the durable
receivers only, where their plugin is active now, in one transaction with marking the row done,
one sweep per row at a time (``select_for_update(skip_locked=True)``). So a durable receiver runs
**at least once** per occurrence, normally once; it must be idempotent per ``event_id`` (the
fast path and a sweep can both run when the fast path is slower than the grace), and it should
only write rows and queue tasks (in the sweep it runs inside a transaction).
Cost: one INSERT per emitted event that has an active durable receiver (in the emitting
transaction) and one UPDATE after its receivers ran; nothing for other events.
"""

from __future__ import annotations

import inspect
import logging
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from academy.metrics import EVENTS as EVENTS_DISPATCHED
from academy.middleware import run_after_response

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=Mapping[str, Any])

#: Every event by name (filled as events are defined), for the schema test and the docs.
EVENTS: dict[str, Event[Any]] = {}

#: How old a stored event that is not done must be before the sweep runs its durable receivers
#: (the fast path normally marks it done within milliseconds of the commit).
OUTBOX_GRACE = timedelta(seconds=60)
#: How often the sweep runs (``learning.tasks.SCHEDULES``) and how many rows it takes per run.
OUTBOX_SWEEP_MINUTES = 1
OUTBOX_SWEEP_BATCH = 500
#: Sweeps of one row whose durable receivers keep raising before it is given up (logged as an error).
OUTBOX_MAX_ATTEMPTS = 10
#: How long done rows are kept (for inspection), and rows given up (their ``last_error``).
OUTBOX_KEEP = timedelta(days=1)
OUTBOX_KEEP_FAILED = timedelta(days=7)
OUTBOX_ERROR_EXCERPT = 2000


class PayloadError(TypeError):
    """A payload does not match its event's TypedDict (only raised with ``ACADEMY_CHECK_EVENTS``)."""


class Event(Signal, Generic[P]):
    """A domain event: a signal whose receivers get ``sender=<event name>, payload=<P>,
    event_id=<str>``."""

    def __init__(self, name: str, payload_type: type[P]) -> None:
        super().__init__()
        if name in EVENTS:
            raise ValueError(f"event {name!r} is defined twice")
        self.name = name
        self.payload_type = payload_type
        # Receivers connected with ``durable=True`` (functions; a disconnected one is ignored).
        self.durable: set[Callable[..., None]] = set()
        EVENTS[name] = self

    def __repr__(self) -> str:
        return f"<Event {self.name}>"

    def emit(self, payload: P) -> str:
        """Send the event once the current transaction commits (at once outside one), storing it
        first, in that transaction, when it has a durable receiver active here. Returns the
        occurrence's ``event_id``."""
        if getattr(settings, "ACADEMY_CHECK_EVENTS", False):
            check_payload(self, payload)  # in the sender's stack, so a wrong payload fails there
        event_id = str(uuid.uuid4())
        stored = self._store(payload, event_id)
        transaction.on_commit(
            lambda: run_after_response(lambda: self._deliver(payload, event_id, stored=stored)), robust=True
        )
        return event_id

    def dispatch(self, payload: P, *, event_id: str | None = None) -> None:
        """Send the event now to every receiver that should hear it, logging receiver errors
        (``event_id``: the occurrence's id; a new one when not given)."""
        self._send(payload, event_id=event_id or str(uuid.uuid4()))

    def _is_durable(self, receiver: Callable[..., Any]) -> bool:
        """Whether ``receiver`` was connected durable, also when what the signal hands out is a
        wrapper of it (Sentry's Django integration wraps every receiver, ``functools.wraps``)."""
        return inspect.unwrap(receiver) in self.durable

    def _durable_here(self, payload: Mapping[str, Any]) -> bool:
        """Whether a durable receiver of this event is connected and its plugin (if any) active
        for the payload's course: the table read once per request, no query once cached."""
        if not self.durable:
            return False
        live = [receiver for receiver in self._live_receivers(self.name)[0] if self._is_durable(receiver)]
        if not live:
            return False
        from academy.plugins import activation

        course_id = payload.get("course_id") if isinstance(payload, Mapping) else None
        for receiver in live:
            plugin = plugin_of(getattr(receiver, "__module__", "") or "")
            if plugin is None or activation.is_active(plugin, course_id=course_id, current=activation.table()):
                return True
        return False

    def _store(self, payload: P, event_id: str) -> bool:
        """Write the outbox row in the current transaction when a durable receiver would run."""
        if not self._durable_here(payload):
            return False
        from academy.models import OutboxEvent

        OutboxEvent.objects.create(event_id=event_id, name=self.name, payload=payload, created_at=timezone.now())
        return True

    def _deliver(self, payload: P, event_id: str, *, stored: bool) -> None:
        """The fast path after the commit: every receiver, then the stored row is done unless a
        durable receiver raised (the sweep tries it again)."""
        errors = self._send(payload, event_id=event_id)
        if stored and not errors:
            from academy.models import OutboxEvent

            OutboxEvent.objects.filter(pk=event_id, done_at__isnull=True).update(done_at=timezone.now())

    def _send(self, payload: P, *, event_id: str, durable_only: bool = False) -> list[str]:
        """Call the receivers that should hear the event (only the durable ones with
        ``durable_only``, each in a savepoint: the sweep runs inside a transaction). Returns the
        errors of durable receivers, logged as every receiver error is."""
        if getattr(settings, "ACADEMY_CHECK_EVENTS", False):
            check_payload(self, payload)
        EVENTS_DISPATCHED.labels(event=self.name).inc()
        course_id = payload.get("course_id") if isinstance(payload, Mapping) else None
        errors: list[str] = []
        if not self.receivers:
            return errors
        from academy.plugins import activation

        current: activation.ActivationTable | None = None
        for receiver in self._live_receivers(self.name)[0]:
            durable = self._is_durable(receiver)
            if durable_only and not durable:
                continue
            plugin = plugin_of(getattr(receiver, "__module__", "") or "")
            if plugin is not None:
                current = current or activation.table()
                if not activation.is_active(plugin, course_id=course_id, current=current):
                    continue
            try:
                if durable_only:
                    with transaction.atomic():
                        receiver(signal=self, sender=self.name, payload=payload, event_id=event_id)
                else:
                    receiver(signal=self, sender=self.name, payload=payload, event_id=event_id)
            except Exception as exc:
                name = f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', repr(receiver))}"
                logger.error(
                    "receiver %s of event %s failed", name, self.name, exc_info=(type(exc), exc, exc.__traceback__)
                )
                if durable:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
        return errors


@lru_cache(maxsize=512)
def plugin_of(module: str) -> str | None:
    """The label of the plugin app that defines ``module``, or None for core (and unknown) code."""
    from academy.plugins.registry import PluginConfig

    config = apps.get_containing_app_config(module) if module else None
    return config.label if isinstance(config, PluginConfig) else None


def check_payload(event: Event[Any], payload: Any) -> None:
    """Raise :class:`PayloadError` unless ``payload`` has exactly the keys and value types of the
    event's TypedDict (ints, strings, bools, lists of them, and ``X | None``)."""
    hints = typing.get_type_hints(event.payload_type)
    if not isinstance(payload, dict):
        raise PayloadError(f"{event.name}: payload must be a dict, not {type(payload).__name__}")
    missing, extra = set(hints) - set(payload), set(payload) - set(hints)
    if missing or extra:
        raise PayloadError(f"{event.name}: missing keys {sorted(missing)}, unexpected keys {sorted(extra)}")
    for key, expected in hints.items():
        if not _matches(payload[key], expected):
            raise PayloadError(f"{event.name}: {key}={payload[key]!r} is not {expected}")


def _matches(value: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(expected)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is Any:
        return True
    if typing.is_typeddict(expected):  # a nested shape (a lesson link): the same check inside
        hints = typing.get_type_hints(expected)
        return isinstance(value, dict) and set(value) == set(hints) and all(
            _matches(value[key], hint) for key, hint in hints.items()
        )
    return isinstance(value, expected)


def connect(
    event: Event[P], *, dispatch_uid: str | None = None, durable: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator: connect a receiver ``f(*, payload: P, event_id: str, **kwargs)`` to ``event``
    (a strong reference, like ``@receiver``). ``durable=True``: the event is stored in the
    emitting transaction and the receiver runs at least once per occurrence even when the
    process that committed it dies first (see the module docstring); it must be idempotent per
    ``event_id``."""

    def decorator(func: Callable[..., None]) -> Callable[..., None]:
        event.connect(func, dispatch_uid=dispatch_uid, weak=False)
        if durable:
            event.durable.add(func)
        return func

    return decorator


def outbox_sweep(*, now: datetime | None = None, grace: timedelta = OUTBOX_GRACE) -> int:
    """Run the durable receivers of every stored event older than ``grace`` that is not done
    (its fast path never ran, or a durable receiver raised), each row in its own transaction
    with marking it done, so two sweeps at once never run one row twice. A row whose receivers
    keep raising is given up after ``OUTBOX_MAX_ATTEMPTS`` sweeps (logged). Returns how many
    rows were done by this call."""
    from academy.models import OutboxEvent

    moment = now or timezone.now()
    candidates = list(
        OutboxEvent.objects.filter(done_at__isnull=True, created_at__lte=moment - grace)
        .order_by("created_at")
        .values_list("pk", flat=True)[:OUTBOX_SWEEP_BATCH]
    )
    done = 0
    for pk in candidates:
        with transaction.atomic():
            row = OutboxEvent.objects.select_for_update(skip_locked=True).filter(pk=pk, done_at__isnull=True).first()
            if row is None:  # done meanwhile, or another sweep holds it
                continue
            event = EVENTS.get(row.name)
            errors = (
                event._send(row.payload, event_id=str(row.pk), durable_only=True)
                if event is not None
                else [f"no event {row.name!r} is defined (its plugin was removed)"]
            )
            row.attempts += 1
            row.last_error = "\n".join(errors)[:OUTBOX_ERROR_EXCERPT]
            if not errors:
                row.done_at = moment
                done += 1
            elif event is None or row.attempts >= OUTBOX_MAX_ATTEMPTS:
                row.done_at = moment
                logger.error("event %s %s given up after %d attempts: %s", row.name, row.pk, row.attempts, row.last_error)
            row.save(update_fields=["attempts", "last_error", "done_at"])
    if done:
        logger.info("outbox_sweep: %d stored events delivered to their durable receivers", done)
    return done


def outbox_prune(*, now: datetime | None = None) -> int:
    """Delete stored events done more than ``OUTBOX_KEEP`` ago (``OUTBOX_KEEP_FAILED`` for
    those given up); returns how many."""
    from academy.models import OutboxEvent

    moment = now or timezone.now()
    deleted, _by_model = OutboxEvent.objects.filter(
        Q(done_at__lt=moment - OUTBOX_KEEP, last_error="") | Q(done_at__lt=moment - OUTBOX_KEEP_FAILED)
    ).delete()
    return deleted
