"""Lesson kinds: page types that are lessons (``LessonPage`` and plugins' subclasses of it).

A plugin's lesson kind (a quiz, say) is a Wagtail page type subclassing
:class:`courses.models.LessonPage`. Core's lesson queries, the progress arithmetic and the
navigation see it as a lesson; where its plugin is switched off for a course, it is hidden there
(not listed, not counted, not served, not creatable) and its rows are kept. Core's own
``LessonPage`` is always active. Deciding costs no query: content types and plugin activation
are cached.

One rule decides which lessons are lessons in a course: their content type is one of
:func:`shown_kind_type_ids`, the installed kinds active there. A lesson whose kind is not
installed here (its plugin excluded by ``ACADEMY_PLUGINS_EXCLUDE``, refused, or uninstalled: its
rows are still in core's lesson table) is hidden by the same rule, everywhere a switched-off kind
is hidden, instead of being served as an empty core lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from academy.events import plugin_of
from academy.plugins import activation
from academy.plugins.activation import ActivationTable
from academy.plugins.registry import get_plugin

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


def kind_name(content_type_id: int) -> str:
    """The public name of a lesson kind, by content type: ``lesson`` for core's lesson,
    ``<plugin label>.<model name without "lessonpage">`` for a plugin's (``quizzes.quiz``). The
    API's ``kind``; no query once Django's content type cache holds it."""
    from courses.models import LessonPage

    model = ContentType.objects.get_for_id(content_type_id).model_class()
    if model is None or model is LessonPage:
        return "lesson"
    label = kind_plugin(model) or model._meta.app_label
    short = model._meta.model_name.removesuffix("page").removesuffix("lesson") or model._meta.model_name
    return f"{label}.{short}"


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


def shown_kind_type_ids(course_id: int | None) -> frozenset[int]:
    """Content type ids of the lesson kinds that are lessons in ``course_id``: installed here and
    active there. Any other lesson row (a kind switched off, or whose plugin is excluded, refused
    or gone) is hidden."""
    return lesson_kind_type_ids() - frozenset(inactive_kind_type_ids(course_id))


def is_shown_kind(content_type_id: int, course_id: int | None) -> bool:
    """Whether a lesson of content type ``content_type_id`` is a lesson in ``course_id``."""
    return content_type_id in shown_kind_type_ids(course_id)


def of_active_kinds(lessons: Q, course_id: int | None) -> Q:
    """``lessons`` of the kinds shown in ``course_id`` (:func:`shown_kind_type_ids`)."""
    return lessons.filter(content_type_id__in=sorted(shown_kind_type_ids(course_id)))


def graded_kinds() -> list[type[LessonPage]]:
    """The lesson kinds that declare themselves graded (``graded = True`` on the page class): the
    gradebook's items."""
    return [model for model in lesson_kinds() if model.graded]


def graded_kind_type_ids(course_id: int | None) -> frozenset[int]:
    """Content type ids of the graded kinds shown in ``course_id`` (installed and active there).
    No query once Django's content type cache holds them."""
    kinds = graded_kinds()
    if not kinds:
        return frozenset()
    types = ContentType.objects.get_for_models(*kinds, for_concrete_models=False)
    return frozenset(content_type.pk for content_type in types.values()) & shown_kind_type_ids(course_id)


def gating_kinds(label: str) -> list[type[LessonPage]]:
    """Plugin ``label``'s lesson kinds that decide completion (they override ``completion_gate``)."""
    from courses.models import LessonPage

    return [
        model
        for model in lesson_kinds()
        if kind_plugin(model) == label and model.completion_gate is not LessonPage.completion_gate
    ]


def gated_course_ids(label: str, *, before: ActivationTable, after: ActivationTable) -> list[int]:
    """Courses where switching from ``before`` to ``after`` hides live lessons of plugin
    ``label``'s gating kinds: their completion changes. Two queries (none without such a kind)."""
    from courses.models import CoursePage, LessonPage

    kinds = gating_kinds(label)
    if not kinds:
        return []
    plugin = kind_plugin(kinds[0])
    config = get_plugin(plugin or "")
    if config is None:
        return []
    types = ContentType.objects.get_for_models(*kinds, for_concrete_models=False)
    steplen = CoursePage.steplen
    paths = {
        path[:-steplen]
        for path in LessonPage.objects.live()
        .filter(content_type_id__in=[t.pk for t in types.values()])
        .values_list("path", flat=True)
    }
    if not paths:
        return []
    courses = CoursePage.objects.filter(path__in=paths).values_list("pk", flat=True)
    return sorted(pk for pk in courses if before.is_active(config, pk) and not after.is_active(config, pk))
