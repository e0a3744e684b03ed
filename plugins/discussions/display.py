"""What the discussion templates show, loaded in a fixed number of queries.

A lesson page shows a bounded first page of its threads (``LESSON_PAGE_SIZE``, pinned first in
the chosen sort) with their total, and a "Show more" link to the lesson's list
(``discussions:list``: a page of its own without JavaScript, a fragment the script appends
with it); the course's discussions and the API page by ``PAGE_SIZE``. A page of summaries costs
one query whatever the number of threads and replies: the threads shown (one more, to know
whether more follow) with only the columns a summary shows, their author's name, whether the
opening post is by staff, and the total in the same query (``COUNT(*) OVER ()``).
Replies load on demand (``thread_detail``: posts with authors, revisions, the viewer's votes
and follow), so a lesson with 200 threads and 2,000 replies renders ten summaries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from plugins.discussions import services
from plugins.discussions.models import Follow, Post, Revision, Thread, Vote

#: Threads per page of the course's discussions and of the API.
PAGE_SIZE = 20
#: Threads a lesson page shows, and each "Show more" adds: a lesson is for learning, its
#: discussion is a side column (the 200th thread is one search or "Show more" away).
LESSON_PAGE_SIZE = 10
#: What a summary shows (``_summary.html``, the API's thread summary): nothing else is loaded.
SUMMARY_FIELDS = (
    "id", "course_id", "lesson_id", "kind", "title", "opening_id", "pinned", "locked", "hidden", "deleted",
    "pending", "answered_post_id", "vote_count", "reply_count", "created_at", "last_activity_at",
    "author__id", "author__username", "author__first_name", "author__last_name", "opening__id", "opening__by_staff",
)
#: The same with the lesson's title (the course's discussions name each thread's lesson).
SUMMARY_FIELDS_WITH_LESSON = (*SUMMARY_FIELDS, "lesson__id", "lesson__title")
SUMMARY_TEMPLATE = "discussions/_summary.html"
#: Part of every rendered summary's cache key: change it when ``_summary.html`` changes.
SUMMARY_VERSION = 1
SUMMARY_CACHE_KEY = "discussions:summary:{}"


def display_name(user: Any) -> str:
    """How an author is shown (escaped by the templates like any text)."""
    return user.get_full_name() or user.get_username()


@dataclass
class ThreadPage:
    """One page of thread summaries, their total, and what the viewer did to them."""

    threads: list[Thread]
    page: int
    sort: str
    query: str
    voted: set[int] = field(default_factory=set)
    followed: set[int] = field(default_factory=set)
    more: bool = False
    total: int = 0

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


def _summaries(qs: QuerySet[Thread], *, partition: bool = False, with_lesson: bool = False) -> QuerySet[Thread]:
    """``qs`` with only what a summary shows, and the number of its rows (per lesson with
    ``partition``) on each row."""
    joined = ("author", "opening", "lesson") if with_lesson else ("author", "opening")
    return qs.select_related(*joined).only(*(SUMMARY_FIELDS_WITH_LESSON if with_lesson else SUMMARY_FIELDS)).annotate(
        total=Window(Count("pk"), partition_by=[F("lesson_id")] if partition else None)
    )


def _summary_key(thread: Thread, show_lesson: bool) -> str:
    """A key naming everything a summary shows: a thread whose row (counts, flags, title) or
    author's name changed gets a new key, so a cached summary is never stale and no write has
    to delete one (old keys expire)."""
    author = thread.author
    lesson_title = thread.lesson.title if show_lesson and thread.lesson_id else ""
    shown = (
        SUMMARY_VERSION, thread.pk, thread.kind, thread.title, thread.opening_id, thread.pinned, thread.locked,
        thread.hidden, thread.deleted, thread.pending, thread.answered_post_id, thread.vote_count, thread.reply_count,
        thread.created_at.isoformat(), author.username, author.first_name, author.last_name,
        bool(thread.opening and thread.opening.by_staff), timezone.get_current_timezone_name(), lesson_title,
    )
    return SUMMARY_CACHE_KEY.format(hashlib.sha256(repr(shown).encode("utf-8", "surrogatepass")).hexdigest()[:40])


def summaries_html(threads: list[Thread], *, show_lesson: bool = False) -> list[SafeString]:
    """Each thread's summary (``_summary.html``) as HTML: one cache round trip for the page,
    the template rendered only for summaries not seen before (each is the same for every reader:
    what differs between readers is which threads they get, decided by the query)."""
    keys = [_summary_key(thread, show_lesson) for thread in threads]
    found = cache.get_many(keys) if keys else {}
    missing: dict[str, str] = {}
    template = None
    for key, thread in zip(keys, threads, strict=True):
        if key not in found:
            template = template or get_template(SUMMARY_TEMPLATE)
            missing[key] = found[key] = template.render({"thread": thread, "show_lesson": show_lesson})
    if missing:
        cache.set_many(missing, settings.ACADEMY_CACHE_TIMEOUT)
    return [mark_safe(found[key]) for key in keys]  # noqa: S308 - rendered (escaped) by the template


def thread_page(
    place: services.Place, *, sort: str = "active", query: str = "", page: int = 1, qs: QuerySet[Thread] | None = None,
    size: int = PAGE_SIZE, viewer_marks: bool = True, with_lesson: bool = False,
) -> ThreadPage:
    """Page ``page`` (of ``size`` threads) of the threads of ``place`` (or of ``qs``) in ``sort``
    order matching ``query``, with their total: one query. ``viewer_marks``: whether the viewer
    voted for and follows each (the API shows them; the pages' summaries do not);
    ``with_lesson``: each thread's lesson title too."""
    if sort not in services.SORTS:
        sort = "active"
    base = services.sorted_threads(qs if qs is not None else services.visible_threads(place), sort, query)
    start = (page - 1) * size
    rows = _summaries(base, with_lesson=with_lesson)
    if viewer_marks and place.user is not None:
        rows = rows.annotate(
            viewer_voted=Exists(Vote.objects.filter(user_id=place.user.pk, post_id=OuterRef("opening_id"))),
            viewer_follows=Exists(Follow.objects.filter(user_id=place.user.pk, thread_id=OuterRef("pk"))),
        )
    threads = list(rows[start : start + size + 1])
    result = ThreadPage(threads=threads[:size], page=page, sort=sort, query=query, more=len(threads) > size)
    result.total = threads[0].total if threads else _total_before(base, start)
    result.voted = {t.opening_id for t in result.threads if getattr(t, "viewer_voted", False)}
    result.followed = {t.pk for t in result.threads if getattr(t, "viewer_follows", False)}
    return result


def _total_before(base: QuerySet[Thread], start: int) -> int:
    """The total of an empty page: none when it is the first page (no query); past the end
    (a stale "Show more" link), a count."""
    return 0 if start == 0 else base.count()


LESSON_PAGE_CACHE_KEY = "discussions:lesson-page:{}:{}:{}:{}"


def shared_lesson_page(place: services.Place, *, sort: str, page: int) -> ThreadPage:
    """Page ``page`` of a lesson's threads for ``place``'s reader. Where every reader but staff
    sees the same threads (no thread of the lesson waits for approval or is hidden, the course
    does not scope by cohort: :func:`services.author_only_threads`) the page is kept in the cache
    under the lesson's version (any write to its threads makes a new one) and shared: no query.
    Otherwise, and when not cached, one query (which also tells whether the page may be shared)."""
    only_authors = services.author_only_threads(place)
    if only_authors is None:
        return thread_page(place, sort=sort, page=page, size=LESSON_PAGE_SIZE, viewer_marks=False)
    lesson_id = place.lesson.pk
    key = LESSON_PAGE_CACHE_KEY.format(lesson_id, services.lesson_version(lesson_id), sort, page)
    cached = cache.get(key)
    if isinstance(cached, ThreadPage):
        return cached
    qs = services.visible_threads(place).annotate(any_author_only=Exists(only_authors))
    shown = thread_page(place, sort=sort, page=page, qs=qs, size=LESSON_PAGE_SIZE, viewer_marks=False)
    if shown.threads and not shown.threads[0].any_author_only:
        cache.set(key, shown, settings.ACADEMY_CACHE_TIMEOUT)
    return shown


def _order(spec: str) -> Any:
    return F(spec[1:]).desc() if spec.startswith("-") else F(spec).asc()


def lesson_thread_pages(
    places: list[services.Place], *, sort: str = "active", query: str = "", page: int = 1
) -> dict[int, ThreadPage]:
    """Page ``page`` (``LESSON_PAGE_SIZE`` threads) of each lesson's threads with their total
    (``places`` of lessons, one viewer), keyed by lesson id: one query for any number of lessons
    (for several, a row number per lesson picks each page)."""
    if sort not in services.SORTS:
        sort = "active"
    result = {place.lesson.pk: ThreadPage(threads=[], page=page, sort=sort, query=query) for place in places}
    if len(places) == 1:  # a lesson page: its threads directly (no subquery, no row numbers)
        place = places[0]
        if not query.strip():
            return {place.lesson.pk: shared_lesson_page(place, sort=sort, page=page)}
        return {place.lesson.pk: thread_page(place, sort=sort, query=query, page=page, size=LESSON_PAGE_SIZE, viewer_marks=False)}
    if not places:
        return result
    wanted = Q(pk__in=[])
    for place in places:
        wanted |= Q(pk__in=services.visible_threads(place).values("pk"))
    start = (page - 1) * LESSON_PAGE_SIZE
    rows = (
        _summaries(services.sorted_threads(Thread.objects.filter(wanted), sort, query), partition=True)
        .annotate(rank=Window(RowNumber(), partition_by=[F("lesson_id")], order_by=[_order(spec) for spec in services.SORTS[sort]]))
        .filter(rank__gt=start, rank__lte=start + LESSON_PAGE_SIZE + 1)
    )
    for thread in rows:
        found = result[thread.lesson_id]
        found.total = thread.total
        if len(found.threads) == LESSON_PAGE_SIZE:
            found.more = True
            continue
        found.threads.append(thread)
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
