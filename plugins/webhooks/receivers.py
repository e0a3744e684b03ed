"""Domain events -> webhook deliveries (rows first, then a task per delivery).

One durable receiver per event type of the catalog that is installed here (the certificates
plugin's ``certificates_issued`` only when that plugin is). Durable (``on_event(...,
durable=True)``): the event is stored in the transaction that made the change, so its deliveries
are written even when the web process dies between the commit and this receiver (the outbox
sweep runs it then). It runs where the webhooks plugin is on, and writes a delivery per
subscription that wants the event, once per event id (a unique constraint), so running it again
for the same occurrence (the sweep after a slow fast path) writes nothing more. The sending
happens in the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from academy.sdk import EVENTS, on_event
from plugins.webhooks import catalog, services


def _receiver_for(name: str) -> Callable[..., None]:
    def record_deliveries(sender: str, payload: Any, event_id: str, **kwargs: Any) -> None:
        services.deliveries_for_event(event_type=name, payload=payload, occurrence=event_id)

    record_deliveries.__qualname__ = f"record_deliveries[{name}]"
    return record_deliveries


for _name in catalog.event_types():
    on_event(EVENTS[_name], dispatch_uid=f"webhooks.deliveries.{_name}", durable=True)(_receiver_for(_name))
