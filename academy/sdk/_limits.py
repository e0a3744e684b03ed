"""SDK: rate-limit doors (``academy.ratelimit``)."""

from __future__ import annotations

from academy.ratelimit import Decision, Limit, Rate, client_address, refusal_response, register_door
from academy.ratelimit import check as check_limits
from academy.ratelimit import reset as reset_rate_limits

__all__ = ["Decision", "Limit", "Rate", "check_limits", "client_address", "refusal_response", "register_door", "reset_rate_limits"]
