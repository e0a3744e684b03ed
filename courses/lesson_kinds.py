"""Lesson kinds: page types that are lessons (``LessonPage`` and plugins' subclasses of it).

A plugin's lesson kind (a quiz, say) is a Wagtail page type subclassing
:class:`courses.models.LessonPage`. Core's lesson queries, the progress arithmetic and the
navigation see it as a lesson; where its plugin is switched off for a course, it is hidden there
(not listed, not counted, not served, not creatable) and its rows are kept. Core's own
``LessonPage`` is always active. Deciding costs no query: content types and plugin activation
are cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from academy.events import plugin_of
from academy.plugins import activation

if TYPE_CHECKING:
    from courses.models import LessonPage

Q = TypeVar("Q", bound=QuerySet[Any])


def lesson_kinds() -> list[type[LessonPage]]:
    """Every concrete lesson page type installed, core's first."""
    from wagtail.models import get_page_models

    from courses.models import LessonPage

    return [model for model in get_page_models() if issubclass(model, LessonPage) and not model._meta.abstract]


def lesson_kind_type_ids() -> frozenset[int]:
    """Content type ids of every lesson kind installed (core's and the plugins'), whether or not
    a plugin is active somewhere: what makes a page a lesson. No query once Django's content type
    cache holds them."""
    types = ContentType.objects.get_for_models(*lesson_kinds(), for_concrete_models=False)
    return frozenset(content_type.pk for content_type in types.values())


def kind_plugin(model: type[Any]) -> str | None:
    """The plugin that brings lesson kind ``model`` (None for core's)."""
    return plugin_of(model.__module__)


def kind_is_active(model: type[Any], course_id: int | None) -> bool:
    """Whether lesson kind ``model`` is available in course ``course_id``."""
    label = kind_plugin(model)
    return label is None or activation.is_active(label, course_id=course_id)


def inactive_kind_type_ids(course_id: int | None) -> list[int]:
    """Content type ids of the lesson kinds switched off for ``course_id``."""
    plugin_kinds = [model for model in lesson_kinds() if kind_plugin(model) is not None]
    if not plugin_kinds:
        return []
    current = activation.table()
    off = [
        model
        for model in plugin_kinds
        if not activation.is_active(kind_plugin(model) or "", course_id=course_id, current=current)
    ]
    if not off:
        return []
    types = ContentType.objects.get_for_models(*off, for_concrete_models=False)
    return sorted(content_type.pk for content_type in types.values())


def of_active_kinds(lessons: Q, course_id: int | None) -> Q:
    """``lessons`` without those whose kind is switched off for ``course_id``."""
    hidden = inactive_kind_type_ids(course_id)
    return lessons.exclude(content_type_id__in=hidden) if hidden else lessons
