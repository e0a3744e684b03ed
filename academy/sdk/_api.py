"""SDK: a plugin's REST API views keep the house contract (``/api/v1/p/<label>/``)."""

from __future__ import annotations

from learning.api.serializers import AbsoluteUrlField, InputSerializer
from learning.api.views import ApiView

__all__ = ["AbsoluteUrlField", "ApiView", "InputSerializer"]
