"""Discussions' rules and writes: who may read and write where, and every change.

**Access** is core's policy, asked through ``academy.sdk`` at every door (the lesson slot, the
fragments and forms, the API, live frames' follow-up fetches, notifications and the digest):
a lesson's threads are read by whoever may read the lesson (``lesson_access(...).can_read``), a
course's own threads by whoever may read its lessons (``course_access(...).can_read``);
anonymous visitors read nothing. Staff are those core's staff rule lets see the course's
learners (``may_see_learners``) and privileged users. Hidden and held posts are seen by staff
and their author only, deleted ones by staff only; where the course scopes threads by cohort a
learner sees the threads of their own cohort.

**Writes** are atomic; counters are recomputed from rows in the same transaction; one vote,
follow and report per person (unique constraints, ``get_or_create``: 20 concurrent votes of one
person are one vote). Each visible change is published on the course's stream
(``discussions.<event>`` with ids and counts only, never text: a page fetches the fragment,
which checks access again) and followers are notified by a task (one in-app notification per
reply, and one email digest per period).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from academy.sdk import (
    Conflict,
    CoursePage,
    Enrollment,
    Forbidden,
    InvalidInput,
    LessonPage,
    Limit,
    NotFound,
    Rate,
    RateLimited,
    check_limits,
    course_access,
    course_group,
    enqueue,
    env_int,
    env_rate,
    is_active,
    lesson_access,
    may_see_learners,
    publish,
    register_door,
    viewer,
)
from plugins.discussions import markdown
from plugins.discussions.models import (
    CourseSettings,
    Follow,
    ModerationAction,
    Post,
    Report,
    Revision,
    Thread,
    Vote,
)

LABEL = "discussions"
DOOR = "discussions_post"
TITLE_MAX = 200
REASON_MAX = 500
#: Minutes during which an author may edit a post (the earlier text is kept).
EDIT_WINDOW_MINUTES = env_int("DISCUSSIONS_EDIT_MINUTES", 30)
#: Threads and replies one person may post (the shared limiter; closed when its store is down).
POST_RATE = env_rate("DISCUSSIONS_POST_RATE", "20/10m")
NOTIFY_TASK = "plugins.discussions.tasks.notify_reply"

register_door(DOOR, fail_open=False)



@dataclass(frozen=True)
class Place:
    """Where threads live (a course, or one of its lessons) as one person sees it."""

    course: Any
    lesson: Any | None
    user: Any
    can_read: bool
    staff: bool
    cohort_id: int | None
    scope_by_cohort: bool

    @property
    def can_write(self) -> bool:
        """Readers may post (an authenticated reader always: anonymous visitors never read)."""
        return self.can_read


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


SETTINGS_CACHE_KEY = "discussions:settings:{}"


def settings_for(course_id: int) -> CourseSettings:
    """The course's discussion settings (defaults when never set; not stored by reading).
    Cached (no query on a warm page); :func:`settings_update` replaces the cached copy."""
    key = SETTINGS_CACHE_KEY.format(int(course_id))
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2:
        return CourseSettings(course_id=course_id, premoderate_first_posts=cached[0], scope_by_cohort=cached[1])
    row = CourseSettings.objects.filter(course_id=course_id).first() or CourseSettings(course_id=course_id)
    cache.set(key, (row.premoderate_first_posts, row.scope_by_cohort), 3600)
    return row


def place_for(
    user: Any, *, course: Any, lesson: Any | None = None, session: Any = None, reader: bool = False,
    conf: CourseSettings | None = None,
) -> Place:
    """What ``user`` may do with the threads of ``course`` (or of its ``lesson``).

    ``reader=True`` only where core already decided that ``user`` reads the lesson (the
    ``lesson.after_body`` slot renders only for its readers): the access policy is not asked twice.
    ``conf``: the course's settings when the caller loaded them already.
    """
    refused = Place(course, lesson, user, False, False, None, False)
    if user is None or not getattr(user, "is_authenticated", False) or not is_active(LABEL, course_id=course.pk):
        return refused
    who = viewer(user, session)
    if not reader:
        access = lesson_access(who, lesson, course_id=course.pk) if lesson is not None else course_access(who, course)
        if not access.can_read:
            return refused
    staff = who.privileged or may_see_learners(who, course)
    conf = conf if conf is not None else settings_for(course.pk)
    cohort_id = None
    if conf.scope_by_cohort and not staff:
        cohort_id = Enrollment.objects.filter(user_id=user.pk, course_id=course.pk).values_list("cohort_id", flat=True).first()
    return Place(course, lesson, user, True, staff, cohort_id, conf.scope_by_cohort)


def course_of(lesson: Any) -> Any:
    """The live course a lesson page belongs to (one query), or None."""
    return CoursePage.objects.live().filter(path=lesson.path[: -LessonPage.steplen]).first()


def may_read_course(user: Any, course: Any, *, session: Any = None) -> bool:
    """Whether ``user`` may read the course's discussions (its own threads): the access policy
    (``course_access(...).can_read``) where the plugin is on; never for anonymous visitors."""
    if user is None or not getattr(user, "is_authenticated", False) or not is_active(LABEL, course_id=course.pk):
        return False
    return course_access(viewer(user, session), course).can_read


def lesson_and_course(lesson_id: int) -> tuple[Any, Any]:
    """The live lesson ``lesson_id`` and its course; NotFound otherwise."""
    lesson = LessonPage.objects.live().filter(pk=lesson_id).first() if 0 < lesson_id < 2**63 else None
    course = CoursePage.objects.live().filter(path=lesson.path[: -LessonPage.steplen]).first() if lesson else None
    if lesson is None or course is None:
        raise NotFound("No such lesson.")
    return lesson, course


def live_course(course_id: int) -> Any:
    """The live course ``course_id``; NotFound otherwise."""
    course = CoursePage.objects.live().filter(pk=course_id).first() if 0 < course_id < 2**63 else None
    if course is None:
        raise NotFound("No such course.")
    return course


def readable_place(user: Any, *, lesson_id: int | None = None, course_id: int | None = None, session: Any = None) -> Place:
    """The place of a lesson (or a course's own threads) that ``user`` may read; NotFound
    (the same answer as a missing one) otherwise."""
    if lesson_id is not None:
        lesson, course = lesson_and_course(lesson_id)
    else:
        lesson, course = None, live_course(course_id or 0)
    place = place_for(user, course=course, lesson=lesson, session=session)
    if not place.can_read:
        raise NotFound("No such lesson." if lesson is not None else "No such course.")
    return place


def visible_threads(place: Place, *, whole_course: bool = False) -> QuerySet[Thread]:
    """The threads of ``place`` its person may see (every lesson's too with ``whole_course``:
    only for staff, or filtered by the caller to the lessons they may read)."""
    qs = Thread.objects.filter(course_id=place.course.pk)
    if not whole_course:
        qs = qs.filter(lesson_id=place.lesson.pk) if place.lesson is not None else qs.filter(lesson__isnull=True)
    if place.staff:
        return qs
    qs = qs.filter(deleted=False).filter(Q(hidden=False, pending=False) | Q(author_id=place.user.pk))
    if place.scope_by_cohort:
        qs = qs.filter(Q(cohort_id__isnull=True) | Q(cohort_id=place.cohort_id) | Q(author_id=place.user.pk))
    return qs


def author_only_threads(place: Place) -> QuerySet[Thread] | None:
    """Where every reader but staff sees the same threads of a lesson (a course that does not
    scope threads by cohort, a reader who is not staff): the lesson's threads that only their
    authors (and staff) see, held or hidden. While there are none, ``visible_threads`` is the
    same for every such reader. None where readers differ anyway."""
    if place.staff or place.scope_by_cohort or place.lesson is None:
        return None
    return Thread.objects.filter(course_id=place.course.pk, lesson_id=place.lesson.pk, deleted=False).filter(
        Q(hidden=True) | Q(pending=True)
    )


LESSON_VERSION_KEY = "discussions:lesson-version:{}"


def lesson_version(lesson_id: int) -> str:
    """A token that changes with every write to the threads of lesson ``lesson_id`` (part of the
    keys of what is cached about them; see :func:`lesson_changed`)."""
    key = LESSON_VERSION_KEY.format(int(lesson_id))
    version = cache.get(key)
    if version is None:
        version = uuid.uuid4().hex
        if not cache.add(key, version, None):
            version = cache.get(key) or version
    return str(version)


def lesson_changed(lesson_id: int | None) -> None:
    """A new :func:`lesson_version`, now and again after the current transaction commits (what
    was cached about the lesson's threads is not read again; the second one drops what a reader
    cached from the rows as they were before the commit). A fresh token rather than a counter:
    a cache that forgot the key never hands out an old version again."""
    if lesson_id is None:
        return
    key = LESSON_VERSION_KEY.format(int(lesson_id))
    cache.set(key, uuid.uuid4().hex, None)
    transaction.on_commit(lambda: cache.set(key, uuid.uuid4().hex, None))


def visible_posts(place: Place, thread: Thread) -> QuerySet[Post]:
    """The posts of ``thread`` its reader may see, oldest first."""
    qs = Post.objects.filter(thread_id=thread.pk)
    if not place.staff:
        qs = qs.filter(deleted=False).filter(Q(hidden=False, pending=False) | Q(author_id=place.user.pk))
    return qs.order_by("created_at", "pk")


SORTS = {
    "newest": ("-pinned", "-created_at", "-pk"),
    "active": ("-pinned", "-last_activity_at", "-pk"),
    "votes": ("-pinned", "-vote_count", "-created_at", "-pk"),
    "unanswered": ("-pinned", "answered_post_id", "-created_at", "-pk"),
}


def sorted_threads(qs: QuerySet[Thread], sort: str, query: str = "") -> QuerySet[Thread]:
    """``qs`` in the order ``sort`` (one of :data:`SORTS`; ``unanswered`` keeps only open
    questions) matching ``query`` in titles and post bodies."""
    if sort not in SORTS:
        raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}.")
    if sort == "unanswered":
        qs = qs.filter(kind=Thread.Kind.QUESTION, answered_post__isnull=True)
    query = (query or "").strip()[:200]
    if query:
        matching = Post.objects.filter(thread_id=OuterRef("pk"), body__icontains=query, deleted=False, hidden=False)
        qs = qs.filter(Q(title__icontains=query) | Exists(matching))
    return qs.order_by(*SORTS[sort])


def thread_for(user: Any, thread_id: int, *, session: Any = None) -> tuple[Thread, Place]:
    """Thread ``thread_id`` and its place, if ``user`` may see it; NotFound otherwise."""
    thread = (
        Thread.objects.select_related("lesson", "course").filter(pk=thread_id).first() if 0 < thread_id < 2**63 else None
    )
    if thread is None or not thread.course.live or (thread.lesson is not None and not thread.lesson.live):
        raise NotFound("No such thread.")
    place = place_for(user, course=thread.course, lesson=thread.lesson, session=session)
    if not place.can_read or not visible_threads(place).filter(pk=thread.pk).exists():
        raise NotFound("No such thread.")
    return thread, place


def post_for(user: Any, post_id: int, *, session: Any = None) -> tuple[Post, Thread, Place]:
    """Post ``post_id``, its thread and place, if ``user`` may see it; NotFound otherwise."""
    thread_id = Post.objects.filter(pk=post_id).values_list("thread_id", flat=True).first() if 0 < post_id < 2**63 else None
    if thread_id is None:
        raise NotFound("No such post.")
    thread, place = thread_for(user, thread_id, session=session)
    post = visible_posts(place, thread).filter(pk=post_id).first()
    if post is None:
        raise NotFound("No such post.")
    return post, thread, place


# --- writes --------------------------------------------------------------------------------------


def _check_rate(user: Any) -> None:
    decision = check_limits([Limit("discussions_post_user", f"user:{user.pk}", Rate.parse(POST_RATE))], door=DOOR)
    if not decision.allowed:
        raise RateLimited("You are posting too fast; wait a moment and try again.", retry_after=decision.retry_after)


def _clean_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("Write something first.")
    if len(body) > markdown.MAX_BODY:
        raise InvalidInput(f"A post is at most {markdown.MAX_BODY} characters.")
    return body.strip()


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("A thread needs a title.")
    title = " ".join(title.split())
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"A title is at most {TITLE_MAX} characters.")
    return title


def _held(place: Place, user: Any) -> bool:
    """Pre-moderation: a learner's first post in a course that asks for it waits for staff."""
    if place.staff or not settings_for(place.course.pk).premoderate_first_posts:
        return False
    return not Post.objects.filter(thread__course_id=place.course.pk, author_id=user.pk, pending=False, deleted=False).exists()


def frame(thread: Thread, event: str, **extra: Any) -> None:
    """Publish ``discussions.<event>`` about ``thread`` on its course's stream (ids and counts);
    every write calls it, so what is cached about the thread's lesson is dropped here too (a held
    thread included: its author sees it)."""
    lesson_changed(thread.lesson_id)
    if thread.pending:
        return
    data = {"course_id": thread.course_id, "lesson_id": thread.lesson_id, "thread_id": thread.pk, **extra}
    publish(group=course_group(thread.course_id), event_type=f"{LABEL}.{event}", data=data)


def thread_create(
    *, user: Any, place: Place, kind: str, title: Any, body: Any, now: datetime | None = None
) -> Thread:
    """Start a question or discussion in ``place`` (a readable lesson or course); the author
    follows it. Raises InvalidInput (400), RateLimited (429)."""
    if not place.can_write:
        raise NotFound("No such lesson.")
    if kind not in Thread.Kind.values:
        raise InvalidInput("Choose a question or a discussion.")
    title, body = _clean_title(title), _clean_body(body)
    _check_rate(user)
    moment = _now(now)
    with transaction.atomic():
        held = _held(place, user)
        thread = Thread.objects.create(
            course_id=place.course.pk, lesson_id=place.lesson.pk if place.lesson else None,
            cohort_id=place.cohort_id if place.scope_by_cohort else None, author_id=user.pk, kind=kind,
            title=title, pending=held, created_at=moment, last_activity_at=moment,
        )
        opening = Post.objects.create(
            thread=thread, author_id=user.pk, body=body, body_html=markdown.render(body), by_staff=place.staff,
            pending=held, created_at=moment,
        )
        thread.opening = opening
        thread.save(update_fields=["opening"])
        Follow.objects.get_or_create(thread=thread, user_id=user.pk)
        frame(thread, "thread")
    return thread


def reply_create(
    *, user: Any, thread: Thread, place: Place, body: Any, quoted_id: int | None = None, now: datetime | None = None
) -> Post:
    """Reply to ``thread`` (optionally quoting one of its posts); the replier follows it and
    every other follower is notified. Raises Conflict (409, locked), InvalidInput, RateLimited."""
    if thread.locked or thread.removed:
        raise Conflict("This thread is locked: no new replies.")
    body = _clean_body(body)
    quoted = None
    if quoted_id is not None:
        quoted = visible_posts(place, thread).filter(pk=quoted_id).first() if isinstance(quoted_id, int) and quoted_id > 0 else None
        if quoted is None:
            raise InvalidInput("The quoted post is not in this thread.")
    _check_rate(user)
    moment = _now(now)
    with transaction.atomic():
        # The thread's row lock orders concurrent replies: each counts after the previous committed.
        Thread.objects.select_for_update().filter(pk=thread.pk).values_list("pk", flat=True).first()
        held = _held(place, user)
        post = Post.objects.create(
            thread=thread, author_id=user.pk, body=body, body_html=markdown.render(body), quoted=quoted,
            by_staff=place.staff, pending=held, created_at=moment,
        )
        Follow.objects.get_or_create(thread=thread, user_id=user.pk)
        if not held:
            _after_reply(thread, post, moment)
    return post


def _after_reply(thread: Thread, post: Post, moment: datetime) -> None:
    """Counters, the first staff answer, the live frame and the followers' notifications."""
    changes: dict[str, Any] = {"last_activity_at": moment}
    if post.by_staff and post.author_id != thread.author_id and thread.first_staff_reply_at is None:
        changes["first_staff_reply_at"] = moment
    Thread.objects.filter(pk=thread.pk).update(reply_count=_reply_count(thread.pk), **changes)
    thread.refresh_from_db()
    frame(thread, "reply", post_id=post.pk, replies=thread.reply_count)
    enqueue(NOTIFY_TASK, post_id=post.pk)


def _reply_count(thread_id: int) -> Any:
    """An expression for an update of thread ``thread_id``: its visible replies, counted when
    the row is written (so concurrent replies never leave a stale count)."""
    visible = (
        Post.objects.filter(thread_id=OuterRef("pk"), hidden=False, deleted=False, pending=False)
        .exclude(pk=OuterRef("opening_id"))
        .order_by()
        .values("thread_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(visible), 0)


def post_edit(
    *, user: Any, post: Post, thread: Thread, place: Place, body: Any, title: Any = None, now: datetime | None = None
) -> Post:
    """Edit one's own post within the edit window (the earlier text is kept as a revision; the
    opening post's edit may change the thread's title). Raises Forbidden, Conflict, InvalidInput."""
    if post.author_id != user.pk:
        raise Forbidden("You can edit only your own posts.")
    moment = _now(now)
    if moment - post.created_at > timedelta(minutes=EDIT_WINDOW_MINUTES):
        raise Conflict(f"Posts can be edited for {EDIT_WINDOW_MINUTES} minutes after posting.")
    if thread.locked or post.removed:
        raise Conflict("This post can no longer be edited.")
    body = _clean_body(body)
    is_opening = thread.opening_id == post.pk
    new_title = _clean_title(title) if is_opening and title is not None else thread.title
    with transaction.atomic():
        Revision.objects.create(post=post, title=thread.title if is_opening else "", body=post.body, replaced_at=moment)
        post.body, post.body_html, post.edited_at = body, markdown.render(body), moment
        post.save(update_fields=["body", "body_html", "edited_at"])
        if new_title != thread.title:
            thread.title = new_title
            thread.save(update_fields=["title"])
        frame(thread, "edited", post_id=post.pk)
    return post


def mark_answered(*, user: Any, thread: Thread, place: Place, post_id: int | None) -> Thread:
    """The asker or staff mark a reply as the answer (``post_id`` None: not answered any more)."""
    if thread.kind != Thread.Kind.QUESTION:
        raise InvalidInput("Only questions are answered.")
    if thread.author_id != user.pk and not place.staff:
        raise Forbidden("Only the asker or staff mark the answer.")
    post = None
    if post_id is not None:
        post = visible_posts(place, thread).filter(pk=post_id, hidden=False, deleted=False, pending=False).exclude(
            pk=thread.opening_id
        ).first() if isinstance(post_id, int) and post_id > 0 else None
        if post is None:
            raise InvalidInput("That reply is not in this thread.")
    with transaction.atomic():
        thread.answered_post = post
        thread.answered_at = timezone.now() if post else None
        thread.save(update_fields=["answered_post", "answered_at"])
        frame(thread, "answered", post_id=post.pk if post else None)
    return thread


def vote(*, user: Any, post: Post, thread: Thread, up: bool = True) -> int:
    """Upvote ``post`` (``up`` False takes the vote back); one per person however many requests
    race. Returns the post's vote count. One's own posts cannot be voted."""
    if post.author_id == user.pk:
        raise Forbidden("You cannot vote for your own post.")
    if post.removed or post.pending:
        raise Conflict("This post cannot be voted on.")
    with transaction.atomic():
        # The post's row lock orders concurrent votes: each counts after the previous committed.
        Post.objects.select_for_update().filter(pk=post.pk).values_list("pk", flat=True).first()
        if up:
            try:
                with transaction.atomic():
                    Vote.objects.get_or_create(post_id=post.pk, user_id=user.pk)
            except IntegrityError:
                pass  # a racing request of the same person stored it first
        else:
            Vote.objects.filter(post_id=post.pk, user_id=user.pk).delete()
        count = Vote.objects.filter(post_id=post.pk).count()
        Post.objects.filter(pk=post.pk).update(vote_count=count)
        if thread.opening_id == post.pk:
            Thread.objects.filter(pk=thread.pk).update(vote_count=count)
        frame(thread, "vote", post_id=post.pk, votes=count)
    return count


def follow(*, user: Any, thread: Thread, on: bool = True) -> bool:
    """Follow ``thread`` (or stop); returns whether the user follows it now."""
    if on:
        try:
            with transaction.atomic():
                Follow.objects.get_or_create(thread_id=thread.pk, user_id=user.pk)
        except IntegrityError:
            pass
    else:
        Follow.objects.filter(thread_id=thread.pk, user_id=user.pk).delete()
    return on


def report(*, user: Any, post: Post, reason: Any) -> Report:
    """Report ``post`` to staff (once per reader and post; a second report updates the reason)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("Say what is wrong with this post.")
    reason = reason.strip()[:REASON_MAX]
    if post.author_id == user.pk:
        raise InvalidInput("You cannot report your own post.")
    try:
        with transaction.atomic():
            row, created = Report.objects.get_or_create(post_id=post.pk, reporter_id=user.pk, defaults={"reason": reason})
    except IntegrityError:
        row, created = Report.objects.get(post_id=post.pk, reporter_id=user.pk), False
    if not created:
        Report.objects.filter(pk=row.pk).update(reason=reason, resolved_at=None)
    return row


THREAD_ACTIONS = {"lock", "unlock", "pin", "unpin"}
POST_ACTIONS = {"hide", "unhide", "delete", "approve"}
NEEDS_REASON = {"hide", "delete", "lock"}


def moderate(
    *, user: Any, thread: Thread, place: Place, action: str, reason: Any = "", post: Post | None = None
) -> ModerationAction:
    """Staff: hide, show, delete or approve a post (its thread, for the opening post), lock or
    pin a thread. Hide, delete and lock need a reason; every action is audited."""
    if not place.staff:
        raise Forbidden("Only the course's staff moderate its discussions.")
    if action not in THREAD_ACTIONS | POST_ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}.")
    reason = reason.strip()[:REASON_MAX] if isinstance(reason, str) else ""
    if action in NEEDS_REASON and not reason:
        raise InvalidInput("Give a reason: it is kept in the moderation log.")
    if action in POST_ACTIONS and post is None:
        post = thread.opening
    moment = timezone.now()
    with transaction.atomic():
        if action in THREAD_ACTIONS:
            field, value = {"lock": ("locked", True), "unlock": ("locked", False),
                            "pin": ("pinned", True), "unpin": ("pinned", False)}[action]
            setattr(thread, field, value)
            thread.save(update_fields=[field])
            frame(thread, "changed")
        else:
            assert post is not None
            was_pending = post.pending
            fields = {"hide": {"hidden": True}, "unhide": {"hidden": False}, "delete": {"deleted": True},
                      "approve": {"pending": False}}[action]
            Post.objects.filter(pk=post.pk).update(**fields)
            if post.pk == thread.opening_id:
                Thread.objects.filter(pk=thread.pk).update(**fields)
            if post.pk == thread.answered_post_id and action in {"hide", "delete"}:
                Thread.objects.filter(pk=thread.pk).update(answered_post=None, answered_at=None)
            Thread.objects.filter(pk=thread.pk).update(reply_count=_reply_count(thread.pk))
            if action in {"hide", "delete"}:
                Report.objects.filter(post_id=post.pk, resolved_at__isnull=True).update(resolved_at=moment)
            thread.refresh_from_db()
            post.refresh_from_db()
            if action == "approve" and was_pending and post.pk != thread.opening_id:
                _after_reply(thread, post, moment)
            elif action == "approve" and was_pending:
                frame(thread, "thread")
            else:
                frame(thread, "removed" if action in {"hide", "delete"} else "changed", post_id=post.pk)
        return ModerationAction.objects.create(
            course_id=thread.course_id, thread=thread, post=post, actor_id=user.pk, action=action, reason=reason
        )


def settings_update(*, user: Any, course: Any, premoderate_first_posts: bool, scope_by_cohort: bool) -> CourseSettings:
    """Staff: the course's discussion settings."""
    if not may_see_learners(viewer(user), course) and not viewer(user).privileged:
        raise Forbidden("Only the course's staff change its discussion settings.")
    row, _ = CourseSettings.objects.update_or_create(
        course_id=course.pk,
        defaults={"premoderate_first_posts": bool(premoderate_first_posts), "scope_by_cohort": bool(scope_by_cohort)},
    )
    transaction.on_commit(lambda: cache.delete(SETTINGS_CACHE_KEY.format(course.pk)))
    cache.delete(SETTINGS_CACHE_KEY.format(course.pk))
    return row


# --- the staff queue and analytics ------------------------------------------------------------


def unanswered_questions(course_id: int) -> QuerySet[Thread]:
    """Open questions of a course no staff member has answered yet, oldest first."""
    return (
        Thread.objects.filter(
            course_id=course_id, kind=Thread.Kind.QUESTION, first_staff_reply_at__isnull=True,
            answered_post__isnull=True, deleted=False, hidden=False, pending=False,
        )
        .select_related("author", "lesson")
        .order_by("created_at", "pk")
    )


def median_first_staff_answer(course_id: int) -> timedelta | None:
    """The median time from a question to its first staff reply, over the course's answered
    questions (None before the first)."""
    rows = sorted(
        answered - asked
        for asked, answered in Thread.objects.filter(
            course_id=course_id, kind=Thread.Kind.QUESTION, first_staff_reply_at__isnull=False
        ).values_list("created_at", "first_staff_reply_at")
    )
    if not rows:
        return None
    middle = len(rows) // 2
    return rows[middle] if len(rows) % 2 else (rows[middle - 1] + rows[middle]) / 2


def pending_posts(course_id: int) -> QuerySet[Post]:
    """Posts held for approval, and reported posts not yet dealt with, oldest first."""
    reported = Report.objects.filter(post_id=OuterRef("pk"), resolved_at__isnull=True)
    return (
        Post.objects.filter(thread__course_id=course_id, deleted=False)
        .filter(Q(pending=True) | Q(Exists(reported), hidden=False))
        .select_related("thread", "author")
        .order_by("created_at", "pk")
    )
