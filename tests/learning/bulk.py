"""Fast creation of many published courses (and one lesson each) for query-count tests.

``Page.add_child`` saves one page at a time with revisions and index updates: far too slow for
1,000 courses. Here the treebeard paths are computed directly, the ``wagtailcore_page`` rows are
bulk-created, then the child tables' rows are inserted in batches (Django's ``bulk_create``
refuses multi-table-inherited models, so its internal ``_insert`` is used for the child table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from django.utils import timezone
from wagtail.models import Page

from courses.models import CoursePage, LessonPage

P = TypeVar("P", bound=Page)
CHILD_BATCH = 50


def _insert_children(model: type[P], objs: Sequence[P]) -> None:
    fields = model._meta.local_concrete_fields
    for start in range(0, len(objs), CHILD_BATCH):
        model._base_manager._insert(objs[start : start + CHILD_BATCH], fields=fields)  # type: ignore[attr-defined]


def _bulk_children(parents: Sequence[Page], model: type[P], make: Any, per_parent: int) -> list[P]:
    """``per_parent`` new live children of ``model`` under each parent (which have none yet)."""
    content_type = ContentType.objects.get_for_model(model)
    now = timezone.now()
    bases: list[Page] = []
    specs: list[dict[str, Any]] = []
    for parent in parents:
        for index in range(1, per_parent + 1):
            title, slug, fields = make(parent, index)
            bases.append(
                Page(
                    title=title, draft_title=title, slug=slug, content_type=content_type,
                    path=Page._get_path(parent.path, parent.depth + 1, parent.numchild + index),
                    depth=parent.depth + 1, numchild=0, url_path=f"{parent.url_path}{slug}/",
                    live=True, has_unpublished_changes=False, first_published_at=now,
                    last_published_at=now, locale_id=parent.locale_id,
                )
            )
            specs.append(fields)
    Page.objects.bulk_create(bases, batch_size=200)
    children = [model(page_ptr_id=base.pk, **fields) for base, fields in zip(bases, specs, strict=True)]
    _insert_children(model, children)
    Page.objects.filter(pk__in=[parent.pk for parent in parents]).update(numchild=F("numchild") + per_parent)
    for child, base in zip(children, bases, strict=True):
        for field in Page._meta.concrete_fields:
            setattr(child, field.attname, getattr(base, field.attname))
    return children


def bulk_courses(catalog: Page, count: int) -> tuple[list[CoursePage], list[LessonPage]]:
    """``count`` open, published courses under ``catalog``, each with one published lesson."""
    catalog.refresh_from_db()
    courses = _bulk_children(
        [catalog], CoursePage,
        lambda parent, i: (f"Bulk course {i}", f"bulk-course-{i}",
                           {"summary": f"Course {i}.", "description": "<p>Bulk.</p>"}),
        count,
    )
    lessons = _bulk_children(
        courses, LessonPage,
        lambda parent, i: (f"{parent.title}: lesson {i}", f"lesson-{i}", {"summary": "Intro.", "body": []}),
        1,
    )
    return courses, lessons
