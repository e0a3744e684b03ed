"""SDK: plugin metadata (safe to import from a plugin's ``apps.py``, before Django is set up)."""

from __future__ import annotations

from academy.plugins.registry import PluginConfig

__all__ = ["PluginConfig"]
