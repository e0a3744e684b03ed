"""What the discussion templates show, loaded in a fixed number of queries.

``thread_page`` (a page of thread summaries: the lesson slot, the course page, the list
fragment) costs four queries whatever the number of threads and replies: the count, the page
of threads with their author and opening post, and the viewer's votes and follows among them.
Replies load on demand (``thread_detail``: posts with authors, revisions, the viewer's votes
and follow), so a lesson with 200 threads and 2,000 replies renders only its first page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from plugins.discussions import services
from plugins.discussions.models import Follow, Post, Revision, Thread, Vote

PAGE_SIZE = 20


def display_name(user: Any) -> str:
    """How an author is shown (escaped by the templates like any text)."""
    return user.get_full_name() or user.get_username()


@dataclass
class ThreadPage:
    """One page of thread summaries and what the viewer did to them."""

    threads: list[Thread]
    total: int
    page: int
    sort: str
    query: str
    voted: set[int] = field(default_factory=set)
    followed: set[int] = field(default_factory=set)

    @property
    def has_more(self) -> bool:
        """Whether later pages exist."""
        return self.page * PAGE_SIZE < self.total

    @property
    def next_page(self) -> int:
        """The number of the next page."""
        return self.page + 1


def parse_page(value: Any) -> int:
    """A page number from a query string (1 for anything that is not a small positive number)."""
    try:
        page = int(value)
    except (TypeError, ValueError):
        return 1
    return page if 0 < page <= 10_000 else 1


def thread_page(
    place: services.Place, *, sort: str = "active", query: str = "", page: int = 1, qs: QuerySet[Thread] | None = None
) -> ThreadPage:
    """Page ``page`` of the threads of ``place`` (or of ``qs``) in ``sort`` order matching
    ``query``: four queries."""
    if sort not in services.SORTS:
        sort = "active"
    base = services.sorted_threads(qs if qs is not None else services.visible_threads(place), sort, query)
    total = base.count()
    start = (page - 1) * PAGE_SIZE
    threads = list(base.select_related("author", "opening", "lesson")[start : start + PAGE_SIZE])
    result = ThreadPage(threads=threads, total=total, page=page, sort=sort, query=query)
    if threads and place.user is not None:
        opening_ids = [thread.opening_id for thread in threads if thread.opening_id]
        result.voted = set(Vote.objects.filter(user_id=place.user.pk, post_id__in=opening_ids).values_list("post_id", flat=True))
        result.followed = set(
            Follow.objects.filter(user_id=place.user.pk, thread_id__in=[t.pk for t in threads]).values_list("thread_id", flat=True)
        )
    return result


@dataclass
class ThreadDetail:
    """A thread with the posts its viewer may see, and what the viewer may do."""

    thread: Thread
    place: services.Place
    opening: Post | None
    replies: list[Post]
    voted: set[int]
    following: bool
    can_edit: set[int]
    can_mark_answered: bool


def thread_detail(place: services.Place, thread: Thread) -> ThreadDetail:
    """Every visible post of ``thread`` (four queries)."""
    posts = list(
        services.visible_posts(place, thread)
        .select_related("author", "quoted", "quoted__author")
        .prefetch_related(Prefetch("revisions", queryset=Revision.objects.order_by("-pk")))
    )
    user_id = place.user.pk
    voted = set(Vote.objects.filter(user_id=user_id, post__thread_id=thread.pk).values_list("post_id", flat=True))
    following = Follow.objects.filter(user_id=user_id, thread_id=thread.pk).exists()
    window = timedelta(minutes=services.EDIT_WINDOW_MINUTES)
    now = timezone.now()
    can_edit = {
        post.pk for post in posts
        if post.author_id == user_id and now - post.created_at <= window and not thread.locked and not post.removed
    }
    opening = next((post for post in posts if post.pk == thread.opening_id), None)
    return ThreadDetail(
        thread=thread, place=place, opening=opening, replies=[post for post in posts if post.pk != thread.opening_id],
        voted=voted, following=following, can_edit=can_edit,
        can_mark_answered=thread.kind == Thread.Kind.QUESTION and (place.staff or thread.author_id == user_id),
    )
