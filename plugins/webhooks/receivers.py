"""Domain events -> webhook deliveries (rows first, then a task per delivery).

One receiver per event type of the catalog that is installed here (the certificates plugin's
``certificates_issued`` only when that plugin is). It runs after the event's transaction
commits, where the webhooks plugin is on, and writes a delivery per subscription that wants the
event (once per event id); the sending happens in the worker. See docs/plugins.md (Webhooks)
for the one window this leaves: a web process killed between the commit and this receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from academy.sdk import EVENTS, on_event
from plugins.webhooks import catalog, services


def _receiver_for(name: str) -> Callable[..., None]:
    def record_deliveries(sender: str, payload: Any, **kwargs: Any) -> None:
        services.deliveries_for_event(event_type=name, payload=payload)

    record_deliveries.__qualname__ = f"record_deliveries[{name}]"
    return record_deliveries


for _name in catalog.event_types():
    on_event(EVENTS[_name], dispatch_uid=f"webhooks.deliveries.{_name}")(_receiver_for(_name))
