"""SDK: purge the anonymous page cache (and any CDN in front, through Wagtail's frontend cache).

Core purges on publish, moves, restrictions and plugin switches; a plugin purges when *its own*
data changes what anonymous visitors see (a course's average rating in its sidebar fragment).
"""

from __future__ import annotations

from wagtail.models import Page

from courses.receivers import purge_page

__all__ = ["purge_course", "purge_page"]


def purge_course(course: Page | int) -> None:
    """Purge every cached page that shows something of a course (a page or its id): the course
    page, its lessons and the listings above it (catalog, home), now and again after commit.
    One query for the course when given an id, one for its lessons; an unknown id purges nothing."""
    page = course if isinstance(course, Page) else Page.objects.filter(pk=course).first()
    if page is not None:
        purge_page(page)
