"""SDK: configuration read from the environment (``academy.env``; no Django needed)."""

from __future__ import annotations

from academy.env import env_bool, env_int, env_rate, env_str

__all__ = ["env_bool", "env_int", "env_rate", "env_str"]
