"""SDK: activation, template slots and the "still serves when off" marker."""

from __future__ import annotations

from academy.plugins.activation import Impact, active_plugins, is_active, switch_off_impact
from academy.plugins.activation import table as activation_table
from academy.plugins.slots import SLOTS, SlotFragment
from academy.plugins.urls import serves_when_switched_off

__all__ = [
    "SLOTS", "Impact", "SlotFragment", "activation_table", "active_plugins", "is_active", "serves_when_switched_off",
    "switch_off_impact",
]
