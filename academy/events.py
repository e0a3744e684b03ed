"""Typed, course-scoped domain events: the main seam between core and plugins.

An :class:`Event` is a Django signal bound to the TypedDict of its payload. ``event.emit(payload)``
sends it after the writing transaction commits (inside a request, after the response is sent:
``academy.middleware``), so the type checker sees a wrong payload at the call site, and a schema
check (``ACADEMY_CHECK_EVENTS``, on in the tests) refuses one at run time.

Dispatch is ``send_robust``-style: a receiver that raises is logged (and so reported to Sentry)
and never breaks the request or the other receivers. A receiver that belongs to a plugin runs only
where the plugin is active: for the payload's ``course_id`` when the payload has one, site-wide
otherwise (pretix's per-event plugin signals work the same way). Core's receivers always run.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.dispatch import Signal

from academy.metrics import EVENTS as EVENTS_DISPATCHED
from academy.middleware import run_after_response

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=Mapping[str, Any])

#: Every event by name (filled as events are defined), for the schema test and the docs.
EVENTS: dict[str, Event[Any]] = {}


class PayloadError(TypeError):
    """A payload does not match its event's TypedDict (only raised with ``ACADEMY_CHECK_EVENTS``)."""


class Event(Signal, Generic[P]):
    """A domain event: a signal whose receivers get ``sender=<event name>, payload=<P>``."""

    def __init__(self, name: str, payload_type: type[P]) -> None:
        super().__init__()
        if name in EVENTS:
            raise ValueError(f"event {name!r} is defined twice")
        self.name = name
        self.payload_type = payload_type
        EVENTS[name] = self

    def __repr__(self) -> str:
        return f"<Event {self.name}>"

    def emit(self, payload: P) -> None:
        """Send the event once the current transaction commits (at once outside one)."""
        if getattr(settings, "ACADEMY_CHECK_EVENTS", False):
            check_payload(self, payload)  # in the sender's stack, so a wrong payload fails there
        transaction.on_commit(lambda: run_after_response(lambda: self.dispatch(payload)), robust=True)

    def dispatch(self, payload: P) -> None:
        """Send the event now to every receiver that should hear it, logging receiver errors."""
        if getattr(settings, "ACADEMY_CHECK_EVENTS", False):
            check_payload(self, payload)
        EVENTS_DISPATCHED.labels(event=self.name).inc()
        course_id = payload.get("course_id") if isinstance(payload, Mapping) else None
        if not self.receivers:
            return
        from academy.plugins import activation

        current: activation.ActivationTable | None = None
        for receiver in self._live_receivers(self.name)[0]:
            plugin = plugin_of(getattr(receiver, "__module__", "") or "")
            if plugin is not None:
                current = current or activation.table()
                if not activation.is_active(plugin, course_id=course_id, current=current):
                    continue
            try:
                receiver(signal=self, sender=self.name, payload=payload)
            except Exception as exc:
                logger.error(
                    "receiver %s.%s of event %s failed",
                    getattr(receiver, "__module__", "?"),
                    getattr(receiver, "__qualname__", repr(receiver)),
                    self.name,
                    exc_info=(type(exc), exc, exc.__traceback__),
                )


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


def connect(event: Event[P], *, dispatch_uid: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Decorator: connect a receiver ``f(*, payload: P, **kwargs)`` to ``event`` (a strong
    reference, like ``@receiver``)."""

    def decorator(func: Callable[..., None]) -> Callable[..., None]:
        event.connect(func, dispatch_uid=dispatch_uid, weak=False)
        return func

    return decorator
