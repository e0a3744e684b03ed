"""SDK: activation, template slots and the "still serves when off" marker."""

from __future__ import annotations

from academy.plugins.activation import active_plugins, is_active
from academy.plugins.activation import table as activation_table
from academy.plugins.slots import SLOTS, SlotFragment
from academy.plugins.urls import serves_when_switched_off

__all__ = ["SLOTS", "SlotFragment", "activation_table", "active_plugins", "is_active", "serves_when_switched_off"]
