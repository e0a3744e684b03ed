"""Figures that apps and plugins add to a course's Analytics screen (beside core's enrollment and
completion numbers), e.g. the discussions plugin's "Median time to first staff answer".

Contributions come from functions registered with the Wagtail hook
``register_course_analytics_figures`` (:data:`HOOK`): each is called as ``fn(course=...)`` and
returns the :class:`AnalyticsFigure` objects it has for that course (an empty list where it has
none, e.g. where the plugin is switched off for the course). Core renders them in registration
order; nobody lists analytics figures anywhere else. A figure is about the whole course (the
screen's cohort filter applies to core's own numbers only), and each function keeps its queries
fixed whatever the course's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wagtail import hooks

#: The Wagtail hook that contributes analytics figures: ``fn(*, course) -> Iterable[AnalyticsFigure]``.
HOOK = "register_course_analytics_figures"


@dataclass(frozen=True)
class AnalyticsFigure:
    """One labelled figure of a course: ``label`` ("Unanswered questions") and ``value``, the
    figure already formatted for reading ("3", "1 h 5 min", "—" when there is none yet); ``name``
    identifies it in the page (``data-analytics-figure="<name>"``) and in tests."""

    name: str
    label: str
    value: str


def course_figures(course: Any) -> list[AnalyticsFigure]:
    """Every registered function's figures for ``course``, in registration order."""
    figures: list[AnalyticsFigure] = []
    for fn in hooks.get_hooks(HOOK):
        contributed: Iterable[AnalyticsFigure] = fn(course=course) or ()
        figures.extend(contributed)
    return figures


__all__ = ["HOOK", "AnalyticsFigure", "course_figures"]
