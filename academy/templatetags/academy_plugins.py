"""``{% slot "name" target=... course=... batch=... %}``: where plugins render into core pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from academy.plugins.slots import render_slot

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context: template.Context, name: str, target: Any = None, course: Any = None, batch: Any = None) -> SafeString:
    """Render the active plugins' fragments of slot ``name`` (see ``academy.plugins.slots``)."""
    return render_slot(name, request=context.get("request"), target=target, course=course, batch=batch)
