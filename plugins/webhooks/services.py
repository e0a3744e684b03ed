"""The only code that writes webhook subscriptions and deliveries, and sends deliveries.

Guarantees:
- **Once per subscription and event.** A delivery is unique per (subscription, event id), and
  an event id names the occurrence (``catalog.event_id``), so an event seen twice is one
  delivery; the request always carries that id as ``Webhook-Id``.
- **Never lost in a worker.** A delivery is a row before anything is sent. A worker claims it
  in a short transaction (``select_for_update(skip_locked=True)`` where the database has it,
  and a lease: ``leased_until`` and a token), sends outside any transaction, then records the
  outcome only if it still holds the lease. Two workers never send one delivery at once; a
  worker killed mid-request leaves the row due again once its lease ends, and the sweeper
  (``deliveries_sweep``, every minute) queues it again. So the network sees **at least once**:
  a receiver that answered but whose answer was never recorded gets the same ``Webhook-Id``
  again and must ignore the repeat.
- **Retries with backoff.** A failed attempt (no answer, a timeout, a non-2xx answer, a refused
  address) is retried after ``conf.backoff_seconds()`` (plus jitter) up to
  ``conf.max_attempts()`` attempts, then the delivery is ``dead`` (replay sends it again).
- **Broken receivers are switched off.** ``conf.disable_after()`` consecutive failed attempts
  of a subscription switch it off (``disabled_at``, ``disabled_reason``); whoever created it is
  notified and the admin's home shows it until it is re-enabled, which resumes what waits.
- Targets are checked when saved and at every attempt (``sending``: https on public addresses
  unless a host is allowed private ones).

Errors are the SDK's ServiceErrors (400 / 403 / 404), nothing written.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from academy.sdk import CoursePage, Forbidden, InvalidInput, enqueue, notification_create
from plugins.webhooks import catalog, conf, sending, signing
from plugins.webhooks.models import URL_MAX_LENGTH, Delivery, Subscription

logger = logging.getLogger(__name__)

VIEW_PERMISSION = "webhooks.view_subscription"
MANAGE_PERMISSION = "webhooks.change_subscription"
DELIVER_TASK = "plugins.webhooks.tasks.deliver"
NAME_MAX_LENGTH = Subscription._meta.get_field("name").max_length
# After a rotation the old secret keeps signing (a second signature) this long.
ROTATION_GRACE = timedelta(hours=24)
WAITING = (Delivery.Status.PENDING, Delivery.Status.FAILED)

Clock = Callable[[], datetime]


# --- Who may -----------------------------------------------------------------------------------


def may_view(user: Any) -> bool:
    """Whether ``user`` may see subscriptions and the delivery log (site-wide: a subscription
    without a course sees every course's events, so this is a site-level permission)."""
    return bool(user.is_authenticated and user.is_active and (user.has_perm(VIEW_PERMISSION) or user.has_perm(MANAGE_PERMISSION)))


def may_manage(user: Any) -> bool:
    """Whether ``user`` may create, change, re-enable subscriptions and replay or ping."""
    return bool(user.is_authenticated and user.is_active and user.has_perm(MANAGE_PERMISSION))


def _require_manager(by: Any) -> None:
    if not may_manage(by):
        raise Forbidden("You may not manage webhooks.")


# --- Subscriptions -----------------------------------------------------------------------------


def clean_target_url(url: Any) -> str:
    """A target URL that may be called, stripped; ``InvalidInput`` with the reason otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("A webhook needs a target URL.")
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput(f"A target URL has at most {URL_MAX_LENGTH} characters.")
    try:
        sending.check_url(url)
    except sending.TargetRefused as exc:
        raise InvalidInput(str(exc)) from exc
    return url


def clean_event_types(event_types: Any) -> list[str]:
    """Known event types, each once, in the catalog's order; ``InvalidInput`` otherwise."""
    if not isinstance(event_types, list | tuple) or not event_types:
        raise InvalidInput("Choose at least one event type.")
    known = catalog.event_types()
    unknown = sorted({str(name) for name in event_types if name not in known})
    if unknown:
        raise InvalidInput(f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(known)}.")
    return [name for name in known if name in event_types]


def _clean_name(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"A webhook needs a name of 1 to {NAME_MAX_LENGTH} characters.")
    return name


def _clean_course(course_id: Any) -> int | None:
    if course_id in (None, ""):
        return None
    if isinstance(course_id, bool) or not isinstance(course_id, int | str) or not str(course_id).isdigit():
        raise InvalidInput("A course is given by its id.")
    if not CoursePage.objects.filter(pk=int(course_id)).exists():
        raise InvalidInput("There is no such course.")
    return int(course_id)


def subscription_create(
    *, name: str, target_url: str, event_types: list[str], course_id: int | None = None, active: bool = True, by: Any
) -> tuple[Subscription, str]:
    """Create a subscription and draw its secret; returns it and the secret (shown once)."""
    _require_manager(by)
    subscription = Subscription(
        name=_clean_name(name),
        target_url=clean_target_url(target_url),
        event_types=clean_event_types(event_types),
        course_id=_clean_course(course_id),
        active=bool(active),
        secret=signing.new_secret(),
        created_by=by,
    )
    subscription.save()
    return subscription, subscription.secret


def subscription_update(*, subscription: Subscription, by: Any, now: datetime | None = None, **changes: Any) -> Subscription:
    """Change ``name``, ``target_url``, ``event_types``, ``course_id`` or ``active`` (only the
    keys given). Switching one on is :func:`subscription_enable`."""
    _require_manager(by)
    allowed = {"name", "target_url", "event_types", "course_id", "active"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(unknown)}.")
    cleaners: dict[str, Callable[[Any], Any]] = {
        "name": _clean_name, "target_url": clean_target_url, "event_types": clean_event_types,
        "course_id": _clean_course, "active": bool,
    }
    cleaned = {key: cleaners[key](value) for key, value in changes.items()}
    enabling = cleaned.get("active") is True and not subscription.active
    if enabling:
        del cleaned["active"]  # subscription_enable switches it on and resumes what waits
    with transaction.atomic():
        for key, value in cleaned.items():
            setattr(subscription, key, value)
        subscription.save()
        if enabling:
            subscription_enable(subscription=subscription, by=by, now=now)
    return subscription


def subscription_rotate_secret(*, subscription: Subscription, by: Any, now: datetime | None = None) -> str:
    """Draw a new secret (returned, shown once); the old one keeps signing as a second
    signature for ``ROTATION_GRACE`` so a receiver can switch without losing requests."""
    _require_manager(by)
    moment = now or timezone.now()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = moment + ROTATION_GRACE
    subscription.secret = signing.new_secret()
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return subscription.secret


def subscription_enable(*, subscription: Subscription, by: Any, now: datetime | None = None) -> int:
    """Switch a subscription on (again): its failure count restarts, and every delivery waiting
    for it is due now and queued. Returns how many were queued."""
    _require_manager(by)
    moment = now or timezone.now()
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            active=True, consecutive_failures=0, disabled_at=None, disabled_reason="", updated_at=moment
        )
        subscription.refresh_from_db()
        waiting = list(subscription.deliveries.filter(status__in=WAITING).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=waiting).update(next_attempt_at=moment)
        for delivery_id in waiting:
            _enqueue(delivery_id)
    return len(waiting)


# --- Deliveries ----------------------------------------------------------------------------------


def _enqueue(delivery_id: int) -> None:
    enqueue(DELIVER_TASK, task_name=f"webhook delivery {delivery_id}", delivery_id=delivery_id)


def envelope(*, event_id: str, event_type: str, payload: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The request body of an event: ``{"id", "type", "timestamp", "data"}``."""
    return {"id": event_id, "type": event_type, "timestamp": at.isoformat(), "data": dict(payload)}


def deliveries_for_event(
    *, event_type: str, payload: Mapping[str, Any], occurrence: str | None = None, now: datetime | None = None
) -> list[Delivery]:
    """A delivery of this event for every active subscription that wants it (none twice for one
    event id: an event seen again creates nothing), each queued once committed. ``occurrence``
    is the domain event's ``event_id`` (a new occurrence when not given). Returns the new
    deliveries."""
    moment = now or timezone.now()
    course_id = payload.get("course_id")
    subscriptions = [s for s in Subscription.objects.filter(active=True) if s.wants(event_type, course_id)]
    if not subscriptions:
        return []
    event_id = catalog.event_id(event_type, payload, occurrence=occurrence or str(uuid.uuid4()))
    body = envelope(event_id=event_id, event_type=event_type, payload=payload, at=moment)
    created: list[Delivery] = []
    for subscription in subscriptions:
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    subscription=subscription, event_id=event_id, event_type=event_type,
                    course_id=course_id if isinstance(course_id, int) else None,
                    payload=body, next_attempt_at=moment, created_at=moment,
                )
        except IntegrityError:  # this event is already on its way to this subscription
            continue
        created.append(delivery)
        _enqueue(delivery.pk)
    return created


def ping_send(*, subscription: Subscription, by: Any, now: datetime | None = None) -> Delivery:
    """Queue a ``ping`` event to the subscription (whatever event types it wants); a
    subscription that is off is a 400 (nothing is sent to it until it is switched on)."""
    _require_manager(by)
    if not subscription.active:
        raise InvalidInput("This webhook is off: switch it on to ping it.")
    moment = now or timezone.now()
    event_id = str(uuid.uuid4())
    payload = {"subscription_id": subscription.pk, "name": subscription.name}
    delivery = Delivery.objects.create(
        subscription=subscription, event_id=event_id, event_type=catalog.PING,
        payload=envelope(event_id=event_id, event_type=catalog.PING, payload=payload, at=moment),
        next_attempt_at=moment, created_at=moment,
    )
    _enqueue(delivery.pk)
    return delivery


def delivery_replay(*, delivery: Delivery, by: Any, now: datetime | None = None) -> Delivery:
    """Send a delivery again, with the same body and ``Webhook-Id`` (a full set of attempts);
    a delivery being sent right now is a 400."""
    _require_manager(by)
    moment = now or timezone.now()
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk).filter(Q(leased_until__isnull=True) | Q(leased_until__lte=moment)).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=moment, replays=F("replays") + 1,
            leased_until=None, lease_token="", updated_at=moment,
        )
        if not updated:
            raise InvalidInput("This delivery is being sent right now; replay it once the attempt ends.")
        _enqueue(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def body_bytes(delivery: Delivery) -> bytes:
    """The exact bytes sent (and signed) for a delivery."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def request_headers(delivery: Delivery, *, secrets: Iterable[str], timestamp: int, body: bytes) -> dict[str, str]:
    """``Webhook-Id``, ``Webhook-Timestamp`` and ``Webhook-Signature`` (one per secret)."""
    signatures = " ".join(signing.sign(s, event_id=delivery.event_id, timestamp=timestamp, body=body) for s in secrets)
    return {"Webhook-Id": delivery.event_id, "Webhook-Timestamp": str(timestamp), "Webhook-Signature": signatures}


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: the backoff schedule's value
    (the last repeats) plus up to ``conf.JITTER`` of it at random."""
    schedule = conf.backoff_seconds()
    base = schedule[min(attempts, len(schedule)) - 1]
    return timedelta(seconds=base + (rng or random).uniform(0, base * conf.JITTER))


def _claim(delivery_id: int, now: datetime) -> tuple[Delivery, str] | None:
    """Take the lease of a due delivery whose subscription is on; None when it is not due,
    done, off, or another worker holds it."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id, status__in=WAITING, next_attempt_at__lte=now, subscription__active=True)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .first()
        )
        if delivery is None:
            return None
        delivery.leased_until = now + timedelta(seconds=conf.lease_seconds())
        delivery.lease_token = token
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.save(update_fields=["leased_until", "lease_token", "attempts", "last_attempt_at", "updated_at"])
    return delivery, token


def delivery_attempt(*, delivery_id: int, clock: Clock = timezone.now, rng: random.Random | None = None) -> str:
    """One attempt at a delivery, if it is due and no other worker holds it; returns what
    happened: ``succeeded``, ``failed``, ``dead``, ``not due`` or ``lease lost``."""
    claimed = _claim(delivery_id, clock())
    if claimed is None:
        return "not due"
    delivery, token = claimed
    subscription = delivery.subscription
    body = body_bytes(delivery)
    sent_at = clock()
    headers = request_headers(
        delivery, secrets=subscription.signing_secrets(sent_at), timestamp=int(sent_at.timestamp()), body=body
    )
    answer: sending.Answer | None = None
    error = ""
    try:
        answer = sending.post(subscription.target_url, body=body, headers=headers, timeout=conf.timeout_seconds())
    except sending.TargetRefused as exc:
        error = str(exc)
    except (OSError, HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if answer is not None and not 200 <= answer.status < 300:
        error = f"The receiver answered {answer.status}."
    return _record(delivery, token, answer=answer, error=error, now=clock(), rng=rng)


def _record(
    delivery: Delivery, token: str, *, answer: sending.Answer | None, error: str, now: datetime, rng: random.Random | None
) -> str:
    """Store an attempt's outcome if this worker still holds the lease."""
    fields: dict[str, Any] = {
        "leased_until": None, "lease_token": "", "updated_at": now,
        "last_status_code": answer.status if answer else None,
        "last_response": answer.body if answer else "",
        "last_error": error[: conf.ERROR_EXCERPT],
    }
    if not error:
        fields.update(status=Delivery.Status.SUCCEEDED, succeeded_at=now)
        outcome = "succeeded"
    elif delivery.attempts >= conf.max_attempts():
        fields.update(status=Delivery.Status.DEAD)
        outcome = "dead"
    else:
        fields.update(status=Delivery.Status.FAILED, next_attempt_at=now + retry_delay(delivery.attempts, rng=rng))
        outcome = "failed"
    with transaction.atomic():
        if not Delivery.objects.filter(pk=delivery.pk, lease_token=token).update(**fields):
            logger.warning("webhook delivery %s: lease lost before its outcome (%s) was stored", delivery.pk, outcome)
            return "lease lost"
        subscriptions = Subscription.objects.filter(pk=delivery.subscription_id)
        if outcome == "succeeded":
            subscriptions.exclude(consecutive_failures=0).update(consecutive_failures=0)
        else:
            subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
            _disable_if_failing(delivery.subscription_id, now=now, error=fields["last_error"])
    return outcome


def _disable_if_failing(subscription_id: int, *, now: datetime, error: str) -> None:
    limit = conf.disable_after()
    reason = f"Switched off after {limit} failed attempts in a row; the last: {error}"[:500]
    switched = Subscription.objects.filter(pk=subscription_id, active=True, consecutive_failures__gte=limit).update(
        active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    )
    if not switched:
        return
    subscription = Subscription.objects.select_related("created_by").get(pk=subscription_id)
    logger.warning("webhook subscription %s (%s) switched off: %s", subscription.pk, subscription.name, reason)
    owner = subscription.created_by
    if owner is not None and owner.is_active:
        notification_create(
            user=owner, kind="announcement", title=f"Webhook “{subscription.name}” was switched off"[:200],
            body=reason, link=reverse("webhooks_admin:subscription", args=[subscription.pk]),
        )


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Queue every delivery that is due and nobody holds, for subscriptions that are on: retries
    whose wait is over, deliveries whose lease ran out (a worker killed mid-delivery), and new
    ones whose task was lost. Safe to run twice (a second copy of a task finds nothing due).
    Returns how many were queued."""
    moment = now or timezone.now()
    grace = moment - timedelta(seconds=conf.ENQUEUE_GRACE_SECONDS)
    due = (
        Delivery.objects.filter(subscription__active=True)
        .filter(
            Q(status=Delivery.Status.FAILED, next_attempt_at__lte=moment)
            | Q(status=Delivery.Status.PENDING, next_attempt_at__lte=grace)
            | Q(status=Delivery.Status.PENDING, leased_until__isnull=False)
        )
        .filter(next_attempt_at__lte=moment)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=moment))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: conf.SWEEP_BATCH]
    )
    ids = list(due)
    for delivery_id in ids:
        _enqueue(delivery_id)
    if ids:
        logger.info("deliveries_sweep: %d webhook deliveries queued", len(ids))
    return len(ids)


def disabled_subscriptions() -> QuerySet[Subscription]:
    """Subscriptions switched off because their receiver kept failing (for the admin's home)."""
    return Subscription.objects.filter(active=False, disabled_at__isnull=False).order_by("-disabled_at")
