"""System check of the plugins: each plugin discovery refused is an error (academy.E100)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

REFUSED_ID = "academy.E100"


@register()
def refused_plugins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """One error per plugin discovery refused, naming it and the reason."""
    return [
        Error(
            f"Plugin {plugin!r} was refused: {reason}.",
            hint=f"Fix or upgrade it, or leave it out with ACADEMY_PLUGINS_EXCLUDE={plugin}.",
            id=REFUSED_ID,
        )
        for plugin, reason in getattr(settings, "ACADEMY_PLUGINS_REFUSED", [])
    ]
