"""What the discussion templates show, loaded in a fixed number of queries.

``thread_page`` (a page of thread summaries: the lesson slot, the course page, the list
fragment) costs one query whatever the number of threads and replies: the page of threads (one
more than shown, to know whether more follow) with their author, opening post, and whether the
viewer voted for and follows each.
Replies load on demand (``thread_detail``: posts with authors, revisions, the viewer's votes
and follow), so a lesson with 200 threads and 2,000 replies renders only its first page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
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
    page: int
    sort: str
    query: str
    voted: set[int] = field(default_factory=set)
    followed: set[int] = field(default_factory=set)
    more: bool = False

    @property
    def has_more(self) -> bool:
        """Whether later pages exist."""
        return self.more

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
    ``query``: one query."""
    if sort not in services.SORTS:
        sort = "active"
    base = services.sorted_threads(qs if qs is not None else services.visible_threads(place), sort, query)
    start = (page - 1) * PAGE_SIZE
    rows = base.select_related("author", "opening", "lesson")
    if place.user is not None:
        rows = rows.annotate(
            viewer_voted=Exists(Vote.objects.filter(user_id=place.user.pk, post_id=OuterRef("opening_id"))),
            viewer_follows=Exists(Follow.objects.filter(user_id=place.user.pk, thread_id=OuterRef("pk"))),
        )
    threads = list(rows[start : start + PAGE_SIZE + 1])
    has_more = len(threads) > PAGE_SIZE
    threads = threads[:PAGE_SIZE]
    result = ThreadPage(threads=threads, page=page, sort=sort, query=query)
    result.more = has_more
    result.voted = {t.opening_id for t in threads if getattr(t, "viewer_voted", False)}
    result.followed = {t.pk for t in threads if getattr(t, "viewer_follows", False)}
    return result


def _order(spec: str) -> Any:
    return F(spec[1:]).desc() if spec.startswith("-") else F(spec).asc()


def lesson_thread_pages(
    places: list[services.Place], *, sort: str = "active", query: str = "", page: int = 1
) -> dict[int, ThreadPage]:
    """Page ``page`` of each lesson's threads (``places`` of lessons, one viewer), keyed by lesson
    id: one query for any number of lessons (a row number per lesson picks each page)."""
    if sort not in services.SORTS:
        sort = "active"
    result = {place.lesson.pk: ThreadPage(threads=[], page=page, sort=sort, query=query) for place in places}
    if not places:
        return result
    wanted = Q(pk__in=[])
    for place in places:
        wanted |= Q(pk__in=services.visible_threads(place).values("pk"))
    start = (page - 1) * PAGE_SIZE
    user_id = places[0].user.pk
    rows = (
        services.sorted_threads(Thread.objects.filter(wanted), sort, query)
        .select_related("author", "opening", "lesson")
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("lesson_id")], order_by=[_order(spec) for spec in services.SORTS[sort]]),
            viewer_voted=Exists(Vote.objects.filter(user_id=user_id, post_id=OuterRef("opening_id"))),
            viewer_follows=Exists(Follow.objects.filter(user_id=user_id, thread_id=OuterRef("pk"))),
        )
        .filter(rank__gt=start, rank__lte=start + PAGE_SIZE + 1)
    )
    for thread in rows:
        found = result[thread.lesson_id]
        if len(found.threads) == PAGE_SIZE:
            found.more = True
            continue
        found.threads.append(thread)
        if thread.viewer_voted:
            found.voted.add(thread.opening_id)
        if thread.viewer_follows:
            found.followed.add(thread.pk)
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
