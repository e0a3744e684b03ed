"""The staff tools of a course, as links: one list for the course page's header buttons in the
admin and the tabs atop every staff screen.

Core's tools (Learners, Analytics, Bulk enrollment, Message learners) and every other app's or
plugin's (the live class view, a gradebook, a discussions queue...) come from functions
registered with the Wagtail hook ``register_course_staff_links`` (:data:`HOOK`): each is called
as ``fn(course=..., user=...)`` and returns the :class:`CourseStaffLink` objects that ``user`` may
open for ``course`` (an empty list where it may open none), checking the same rule as the
screen itself. Nobody lists staff screens anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wagtail import hooks

#: The Wagtail hook that contributes staff links: ``fn(*, course, user) -> Iterable[CourseStaffLink]``.
HOOK = "register_course_staff_links"


@dataclass(frozen=True)
class CourseStaffLink:
    """One staff tool of a course.

    ``name`` identifies the tab (a screen passes it as the current tab); ``priority`` orders
    links, lowest first (core uses 10 to 60); ``icon`` is a Wagtail admin icon name;
    ``header`` False keeps the link off the course page's header buttons (tabs only).
    """

    name: str
    label: str
    url: str
    priority: int = 100
    icon: str = "list-ul"
    header: bool = True


def course_links(course: Any, user: Any) -> list[CourseStaffLink]:
    """Every staff tool of ``course`` that ``user`` may open, in order (one per name: the first
    registered wins)."""
    links: dict[str, CourseStaffLink] = {}
    for fn in hooks.get_hooks(HOOK):
        contributed: Iterable[CourseStaffLink] = fn(course=course, user=user) or ()
        for link in contributed:
            links.setdefault(link.name, link)
    return sorted(links.values(), key=lambda link: (link.priority, link.label))


__all__ = ["HOOK", "CourseStaffLink", "course_links"]
