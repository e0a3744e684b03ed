"""SDK: the API's house contract for a plugin's endpoints (request bodies)."""

from __future__ import annotations

from learning.api.serializers import InputSerializer

__all__ = ["InputSerializer"]
