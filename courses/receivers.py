"""Which cached pages a content change touches: Wagtail's page signals and the models that
listings show -> ``courses.pagecache.purge_urls``. Connected by ``CoursesConfig.ready()``.

Wagtail's own ``wagtail.contrib.frontend_cache`` handles two signals, ``page_published`` and
``page_unpublished``, and purges only the page itself, through the task queue. A page is shown in
more places than its own URL, so this module handles, at once after commit:

- publish, unpublish (scheduled ones too: Wagtail's ``publish_scheduled`` sends the same signals)
  and delete (Wagtail unpublishes a live page before deleting it) of a page: the page, its
  ancestors (the catalog and home list courses; the catalog search finds lessons), its
  descendants (lessons show their course's title and URL) and, for a lesson, its sibling lessons
  (lesson N of M, previous and next);
- a slug change or a move: the same, at the old URLs and at the new ones;
- an instructor (snippet), tag or image edited or deleted: the courses that show it and their
  listings; for an image, the lessons whose body shows it (their cached body fragment too).

Wagtail's app is therefore not installed: its handlers would repeat a subset of this through the
queue. Every purge still goes through Wagtail's frontend-cache backends (``WAGTAILFRONTENDCACHE``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from taggit.models import Tag
from wagtail.contrib.frontend_cache.utils import PurgeBatch
from wagtail.images import get_image_model
from wagtail.models import Page, PageViewRestriction, ReferenceIndex, Site
from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from academy.plugins.activation import activation_changed
from courses import pagecache, restrictions, routing
from courses.models import CoursePage, CourseTag, Instructor, LessonPage


def _urls(pages: Iterable[Page]) -> set[str]:
    batch = PurgeBatch()
    batch.add_pages(pages)
    return batch.urls


def _touched_by(page: Page) -> list[Page]:
    """The pages that show something of ``page``: itself, ancestors, descendants, lesson siblings."""
    pages = [page, *page.get_ancestors().filter(depth__gt=1), *page.get_descendants()]
    if isinstance(page.specific_deferred, LessonPage):
        pages += list(page.get_siblings(inclusive=False))
    return pages


def _listing_of(courses: Iterable[Page]) -> list[Page]:
    """Courses and the listings that show them (their ancestors)."""
    pages: dict[int, Page] = {}
    for course in courses:
        pages[course.pk] = course
        for ancestor in course.get_ancestors().filter(depth__gt=1):
            pages[ancestor.pk] = ancestor
    return list(pages.values())


def purge_page(page: Page) -> None:
    """Purge every cached page that shows something of ``page`` (after commit)."""
    pagecache.purge_urls(_urls(_touched_by(page)))


def _at_url_path(pages: Iterable[Page], old_prefix: str, new_prefix: str) -> list[Page]:
    """Copies of ``pages`` placed where they were before their url_path prefix changed."""
    moved = []
    for page in pages:
        if not page.url_path.startswith(new_prefix):
            continue
        before = copy.copy(page)
        before.url_path = old_prefix + page.url_path[len(new_prefix) :]
        moved.append(before)
    return moved


@receiver(page_published, dispatch_uid="courses.pagecache.published")
@receiver(page_unpublished, dispatch_uid="courses.pagecache.unpublished")
def on_page_changed(sender: type, instance: Page, **kwargs: Any) -> None:
    """Publish, unpublish, scheduled publish, delete."""
    purge_page(instance)


@receiver(post_delete, sender=Page, dispatch_uid="courses.pagecache.page_deleted")
def on_page_deleted(sender: type, instance: Page, **kwargs: Any) -> None:
    """A deleted page takes its restrictions along (and draft pages are deleted unpublished)."""
    forget_restricted_pages()


@receiver(page_slug_changed, dispatch_uid="courses.pagecache.slug_changed")
def on_slug_changed(sender: type, instance: Page, instance_before: Page, **kwargs: Any) -> None:
    """The old URLs of the page and its descendants go too (the new ones on publish)."""
    subtree = [instance, *instance.get_descendants()]
    pagecache.purge_urls(_urls(_at_url_path(subtree, instance_before.url_path, instance.url_path)))
    purge_page(instance)


@receiver(post_page_move, dispatch_uid="courses.pagecache.moved")
def on_page_moved(
    sender: type, instance: Page, parent_page_before: Page, url_path_before: str, url_path_after: str, **kwargs: Any
) -> None:
    """The page and its subtree at the old and new places, and both places' listings."""
    forget_restricted_pages()  # tree paths changed
    subtree = [instance, *instance.get_descendants()]
    old_place = _at_url_path(subtree, url_path_before, url_path_after)
    old_listings = [parent_page_before, *parent_page_before.get_ancestors().filter(depth__gt=1)]
    old_siblings = list(parent_page_before.get_children()) if isinstance(instance.specific_deferred, LessonPage) else []
    pagecache.purge_urls(_urls([*old_place, *old_listings, *old_siblings]))
    purge_page(instance)


@receiver(post_save, sender=Instructor, dispatch_uid="courses.pagecache.instructor_saved")
@receiver(pre_delete, sender=Instructor, dispatch_uid="courses.pagecache.instructor_deleted")
def on_instructor_changed(sender: type, instance: Instructor, **kwargs: Any) -> None:
    """Course cards and course pages show their instructor (before delete: the link is still there)."""
    routing.forget_tree()  # the cached course page fragments show it too
    pagecache.purge_urls(_urls(_listing_of(CoursePage.objects.live().filter(instructor=instance))))


@receiver(post_save, sender=Tag, dispatch_uid="courses.pagecache.tag_saved")
@receiver(pre_delete, sender=Tag, dispatch_uid="courses.pagecache.tag_deleted")
def on_tag_changed(sender: type, instance: Tag, **kwargs: Any) -> None:
    """Tag clouds, cards and course pages show tag names."""
    routing.forget_tree()
    course_ids = CourseTag.objects.filter(tag=instance).values("content_object_id")
    pagecache.purge_urls(_urls(_listing_of(CoursePage.objects.live().filter(pk__in=course_ids))))


def on_image_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """Covers, instructor photos and lesson bodies show images (renditions change with them)."""
    routing.forget_tree()
    courses = CoursePage.objects.live().filter(cover_image=instance) | CoursePage.objects.live().filter(
        instructor__photo=instance
    )
    lessons: list[LessonPage] = []
    if not kwargs.get("created"):  # a new image is shown nowhere yet
        page_ids = ReferenceIndex.get_references_to(instance).filter(
            base_content_type=ContentType.objects.get_for_model(Page)
        ).values_list("object_id", flat=True)
        lessons = list(LessonPage.objects.live().filter(pk__in=[int(pk) for pk in page_ids]))
    pagecache.purge_body_fragments(lessons)
    pagecache.purge_urls(_urls([*_listing_of(courses.distinct()), *lessons]))


post_save.connect(on_image_changed, sender=get_image_model(), dispatch_uid="courses.pagecache.image_saved")
pre_delete.connect(on_image_changed, sender=get_image_model(), dispatch_uid="courses.pagecache.image_deleted")


def forget_restricted_pages() -> None:
    """Drop the snapshot of view restrictions now and after commit (a read in between reloads it)."""
    restrictions.forget()


@receiver(post_save, sender=PageViewRestriction, dispatch_uid="courses.pagecache.restriction_saved")
@receiver(post_delete, sender=PageViewRestriction, dispatch_uid="courses.pagecache.restriction_deleted")
def on_restriction_changed(sender: type, instance: PageViewRestriction, **kwargs: Any) -> None:
    """A page made private (or public again): forget the restricted set and every shared page
    that shows it (a private course leaves the catalog; its pages must not be served from the
    shared cache any more)."""
    forget_restricted_pages()
    page = Page.objects.filter(pk=instance.page_id).first()
    if page is not None:
        purge_page(page)


@receiver(m2m_changed, sender=PageViewRestriction.groups.through, dispatch_uid="courses.restrictions.groups_changed")
def on_restriction_groups_changed(sender: type, instance: Any, action: str, **kwargs: Any) -> None:
    """The groups of a group restriction changed (or a group left every restriction): the snapshot
    of view restrictions is stale."""
    if action in {"post_add", "post_remove", "post_clear"}:
        forget_restricted_pages()


@receiver(activation_changed, dispatch_uid="courses.pagecache.plugin_activation")
def on_plugin_activation_changed(sender: type, course_id: int | None, **kwargs: Any) -> None:
    """A plugin switched for a course shows or hides its fragments and lessons there: purge the
    course, its lessons and the listings; switched site-wide, it may show on every page."""
    if course_id is None:
        pages: list[Page] = list(Page.objects.filter(depth__gt=1))
    else:
        course = Page.objects.filter(pk=course_id).first()
        pages = _touched_by(course) if course is not None else []
    pagecache.purge_urls(_urls(pages))


@receiver(post_save, dispatch_uid="courses.routing.page_saved")
@receiver(post_delete, dispatch_uid="courses.routing.page_deleted")
def on_tree_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    """Any page saved (a draft, a publish, an unpublish, a new page) or deleted, or a Site
    changed: cached routes and course outlines are stale (``courses.routing``)."""
    if isinstance(instance, Page | Site):
        routing.forget_tree()


@receiver(post_page_move, dispatch_uid="courses.routing.page_moved")
def on_tree_moved(sender: type, instance: Page, **kwargs: Any) -> None:
    """A move rewrites the tree paths of a whole subtree without saving each page."""
    routing.forget_tree()
