"""Small, dependency-free readers for configuration from environment variables (12-factor)."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable as a stripped string, or ``default`` when unset."""
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    """Return the variable as a boolean; refuse values that are neither true nor false."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    """Return the variable as an integer, or ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_RATE_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """``"5/15m"`` -> ``(5, 900.0)``: at most N events per window, window in seconds.

    Accepts DRF's form too (``"100/hour"``, ``"1000/day"``); units s, m, h, d (or their words),
    with an optional multiplier (``"20/15min"``, ``"3/1.5s"``). N must be at least 1.
    """
    match = _RATE_PATTERN.match(text.lower())
    if match is None or match.group(3) not in _RATE_UNITS:
        raise ValueError(f"a rate looks like '5/15m' or '100/hour', not {text!r}")
    count = int(match.group(1))
    window = float(match.group(2) or 1) * _RATE_UNITS[match.group(3)]
    if count < 1 or window <= 0:
        raise ValueError(f"a rate needs at least 1 event per positive window, not {text!r}")
    return count, window


def env_rate(name: str, default: str) -> str:
    """Return the variable as a validated rate string (see :func:`parse_rate`)."""
    value = env_str(name, default)
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc
    return value
