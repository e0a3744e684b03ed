"""Template slots: named places in core templates where active plugins render a fragment.

Core templates mark a place with ``{% slot "course.sidebar" course=page %}`` (``{% load
academy_plugins %}``). A plugin contributes by defining, in its ``slots.py``, a subclass of
:class:`SlotFragment` naming the slot and a template::

    class CertificateLink(SlotFragment):
        slot = "dashboard.card"
        template_name = "certificates/slots/card.html"

        def prepare(self, request, targets):          # once per page, for every card shown
            return {c.enrollment_id: c for c in Certificate.objects.filter(...)}

        def get_context(self, request, target, prepared):
            certificate = prepared.get(target.pk)
            return {"certificate": certificate} if certificate else None   # None: render nothing

A slot costs a fixed number of queries however many courses or enrollments a page shows:
``prepare`` runs once per slot, fragment and batch of targets (the ``batch`` a template passes
with each target), and ``get_context`` only picks its part. A fragment that raises is logged and
renders nothing; the page is served. A fragment's template gets ``request``, ``user``,
``target``, ``course``, ``csrf_token`` and what ``get_context`` returns (no context processors:
they would cost queries per fragment). Fragments render only where their plugin is active (for
the ``course`` given to the tag, site-wide otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.functional import lazy
from django.utils.safestring import SafeString, mark_safe

from academy.plugins import activation

logger = logging.getLogger(__name__)

#: The slots core templates offer, and what each passes as ``target`` (and ``course``).
SLOTS: dict[str, str] = {
    "header": "every page's site header; target None, site-wide",
    "course.sidebar": "course page, beside the lessons; target the CoursePage",
    "course.after_lessons": "course page, after the lesson list; target the CoursePage",
    "lesson.actions": "lesson page, beside 'Mark complete'; target the LessonPage",
    "lesson.after_body": "lesson page, after the lesson's body; target the LessonPage",
    "dashboard.card": (
        "each enrollment card of the dashboard; target the card (learning.selectors.DashboardEnrollment:"
        " enrollment_id, course_id, status...), batch the page's cards"
    ),
    "dashboard.side": "the dashboard's side column; target None, site-wide",
}

_fragments: dict[str, list[type[SlotFragment]]] = {}


class SlotFragment:
    """One plugin's fragment in one slot (subclasses in ``<plugin>/slots.py`` register themselves)."""

    #: The slot's name, one of :data:`SLOTS`.
    slot: ClassVar[str] = ""
    template_name: ClassVar[str] = ""
    #: Queries the fragment may run per page (prepare + render), checked by the contract kit.
    query_budget: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.slot:
            if cls.slot not in SLOTS:
                raise ValueError(f"{cls.__qualname__}: unknown slot {cls.slot!r} (known: {', '.join(SLOTS)})")
            _fragments.setdefault(cls.slot, []).append(cls)

    @property
    def plugin(self) -> str | None:
        """The label of the plugin that defines this fragment."""
        from academy.events import plugin_of

        return plugin_of(type(self).__module__)

    def prepare(self, request: HttpRequest | None, targets: Sequence[Any]) -> Any:
        """Load what every target of the batch needs, in a fixed number of queries."""
        return None

    def get_context(self, request: HttpRequest | None, target: Any, prepared: Any) -> dict[str, Any] | None:
        """The template context for one target (None renders nothing)."""
        return {}


def fragments(slot: str) -> list[type[SlotFragment]]:
    """Every installed fragment of ``slot``, in registration order."""
    return list(_fragments.get(slot, []))


def render_slot(
    slot: str,
    *,
    request: HttpRequest | None,
    target: Any = None,
    course: Any = None,
    batch: Sequence[Any] | None = None,
    only: type[SlotFragment] | None = None,
) -> SafeString:
    """Render every active fragment of ``slot`` for ``target`` (or just ``only``), joined;
    errors render nothing."""
    if slot not in SLOTS:
        raise ValueError(f"unknown slot {slot!r}")
    found = [only] if only is not None else _fragments.get(slot)
    if not found:
        return mark_safe("")
    memo: dict[Any, Any] = _request_memo(request)
    current = activation.table()
    course_id = getattr(course, "pk", course)
    parts: list[str] = []
    for cls in found:
        fragment = cls()
        label = fragment.plugin
        if label is None or not activation.is_active(label, course_id=course_id, current=current):
            continue
        try:
            targets = list(batch) if batch is not None else [target]
            key = (cls, id(batch) if batch is not None else id(target))
            if key not in memo:
                memo[key] = fragment.prepare(request, targets)
            extra = fragment.get_context(request, target, memo[key])
            if extra is None:
                continue
            base = {"request": request, "target": target, "course": course, "user": getattr(request, "user", None)}
            if request is not None:
                # Lazy, like Django's own context processor: only a fragment with a form sets the
                # CSRF cookie (which makes the page uncacheable for anonymous visitors).
                base["csrf_token"] = _lazy_token(request)
            parts.append(render_to_string(cls.template_name, {**base, **extra}))
        except Exception:
            logger.exception("slot %s: fragment %s.%s failed", slot, cls.__module__, cls.__qualname__)
    return mark_safe("".join(parts))  # noqa: S308 - each part is a rendered (escaped) template


# Built once: ``lazy()`` makes a new proxy class on every call (0.1 ms, once per fragment).
_lazy_token = lazy(get_token, str)


def _request_memo(request: HttpRequest | None) -> dict[Any, Any]:
    if request is None:
        return {}
    memo = getattr(request, "_academy_slots", None)
    if memo is None:
        memo = {}
        request._academy_slots = memo  # type: ignore[attr-defined]
    return memo
