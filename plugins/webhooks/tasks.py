"""Background tasks of the webhooks plugin (Django-Q2), thin wrappers taking ids.

``deliver`` makes one attempt at a delivery (nothing when it is not due or another worker holds
it); the ``sweep_deliveries`` schedule queues retries whose wait is over and deliveries left by
a killed worker once their lease ends. Both are safe to run twice.
"""

from __future__ import annotations

from academy.sdk import ScheduledTask
from plugins.webhooks import conf, services


def deliver(*, delivery_id: int) -> str:
    """One attempt at a webhook delivery; what happened (``succeeded``, ``failed``...)."""
    return services.delivery_attempt(delivery_id=delivery_id)


def sweep_deliveries() -> int:
    """Queue the deliveries that are due and held by no worker; how many."""
    return services.deliveries_sweep()


SCHEDULES = [
    ScheduledTask("sweep_deliveries", "plugins.webhooks.tasks.sweep_deliveries", minutes=conf.SWEEP_MINUTES),
]
