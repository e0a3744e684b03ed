"""Discussion pages and forms under ``/p/discussions/`` (namespace ``discussions``).

Thin, like core's views: parse the request, find the place through the access policy
(``services.readable_place`` / ``thread_for`` / ``post_for``: a thread or post the caller may not
read is a 404, exactly like a missing one, anonymous visitors included), call one service,
redirect back (``next``, a path on this site) or render. Bad input is a 4xx page and nothing is
written; too many posts is a 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from academy.sdk import (
    LessonPage,
    RateLimited,
    ServiceError,
    safe_next_url,
    viewer,
    visible_pages_filter,
)
from plugins.discussions import display, services
from plugins.discussions.models import Thread

View = Callable[..., HttpResponse]


def _error(request: HttpRequest, exc: ServiceError, *, back: str | None = None) -> HttpResponse:
    response = render(request, "discussions/error.html", {"status": exc.status_code, "message": exc.message, "back": back},
                      status=exc.status_code)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = exc.retry_after_header
    return response


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _session(request: HttpRequest) -> Any:
    return getattr(request, "session", None)


def _thread_url(thread: Thread) -> str:
    return f"/p/discussions/threads/{thread.pk}/"


def _guarded(view: View) -> View:
    """Anonymous visitors go to the login page (for a POST: back to where they came from);
    service errors become their 4xx page."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.method == "GET" and request.GET.get("fragment"):
                raise Http404("Not found.")
            return redirect_to_login(safe_next_url(request, request.path) if request.method == "POST" else request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return _error(request, exc, back=safe_next_url(request, "") or None)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_guarded
def new_lesson_thread(request: HttpRequest, lesson_id: int) -> HttpResponse:
    """POST ``kind``, ``title``, ``body``: a new thread on a lesson the caller may read."""
    place = services.readable_place(request.user, lesson_id=lesson_id, session=_session(request))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    thread = services.thread_create(
        user=request.user, place=place, kind=request.POST.get("kind", "question"),
        title=request.POST.get("title"), body=request.POST.get("body"),
    )
    if thread.pending:
        messages.info(request, "Thanks! Your first post waits for a staff member's approval.")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(thread)))


@_guarded
def new_course_thread(request: HttpRequest, course_id: int) -> HttpResponse:
    """POST ``kind``, ``title``, ``body``: a new thread about the whole course."""
    place = services.readable_place(request.user, course_id=course_id, session=_session(request))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    thread = services.thread_create(
        user=request.user, place=place, kind=request.POST.get("kind", "question"),
        title=request.POST.get("title"), body=request.POST.get("body"),
    )
    if thread.pending:
        messages.info(request, "Thanks! Your first post waits for a staff member's approval.")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(thread)))


def _readable_lessons_filter(place: services.Place, request: HttpRequest) -> Any:
    """The course's threads on lessons the caller may see, and the course's own."""
    if place.staff:
        return None
    lesson_ids = list(
        LessonPage.objects.child_of(place.course).live().filter(visible_pages_filter(viewer(request.user, _session(request))))
        .values_list("pk", flat=True)
    )
    return lesson_ids


@require_GET
@_guarded
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    """The course's discussions: its own threads and every readable lesson's, sorted, searched."""
    place = services.readable_place(request.user, course_id=course_id, session=_session(request))
    qs = services.visible_threads(place, whole_course=True)
    lesson_ids = _readable_lessons_filter(place, request)
    if lesson_ids is not None:
        qs = qs.filter(Q(lesson__isnull=True) | Q(lesson_id__in=lesson_ids))
    sort = request.GET.get("sort", "active")
    if sort not in services.SORTS:
        raise services.InvalidInput(f"Unknown sort {sort!r}.")
    page = display.thread_page(place, sort=sort, query=request.GET.get("q", "")[:200],
                               page=display.parse_page(request.GET.get("page")), qs=qs, viewer_marks=False, with_lesson=True)
    return render(request, "discussions/course.html", {
        "place": place, "page": page, "sorts": list(services.SORTS), "summaries": display.summaries_html(page.threads, show_lesson=True),
    })


@require_GET
@_guarded
def lesson_list(request: HttpRequest, lesson_id: int) -> HttpResponse:
    """A page of a lesson's threads (``sort``, ``q``, ``page``; ``display.LESSON_PAGE_SIZE`` each,
    the lesson page showing the first): the lesson page's "Show more" link, a page of its own;
    with ``?fragment=1`` just the summaries and the next link, which the lesson page's script
    appends (``?fragment=1&thread=<id>``: that one thread's summary, for live updates)."""
    place = services.readable_place(request.user, lesson_id=lesson_id, session=_session(request))
    qs = services.visible_threads(place)
    only = _int(request.GET.get("thread"))
    if only is not None:
        qs = qs.filter(pk=only)
    sort = request.GET.get("sort", "active")
    if sort not in services.SORTS:
        raise services.InvalidInput(f"Unknown sort {sort!r}.")
    page = display.thread_page(place, sort=sort, query=request.GET.get("q", "")[:200], page=display.parse_page(request.GET.get("page")),
                               qs=qs, size=display.LESSON_PAGE_SIZE, viewer_marks=False)
    context = {"place": place, "page": page, "summaries": display.summaries_html(page.threads), "sorts": list(services.SORTS),
               "list_url": reverse("discussions:list", args=[lesson_id])}
    if request.GET.get("fragment"):
        return render(request, "discussions/_summaries.html", context)
    return render(request, "discussions/lesson.html", context)


@require_GET
@_guarded
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    """A thread's page (``?fragment=1``: its posts only, for the pages' scripts)."""
    found, place = services.thread_for(request.user, thread_id, session=_session(request))
    detail = display.thread_detail(place, found)
    context = {"d": detail, "next": _thread_url(found)}
    if request.GET.get("fragment"):
        context["next"] = safe_next_url(request, _thread_url(found))
        return render(request, "discussions/_detail.html", context)
    return render(request, "discussions/thread.html", context)


@require_POST
@_guarded
def reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    """POST ``body`` (and ``quoted_id``): reply to a thread."""
    found, place = services.thread_for(request.user, thread_id, session=_session(request))
    quoted = request.POST.get("quoted_id") or None
    quoted_id = _int(quoted) if quoted is not None else None
    if quoted is not None and quoted_id is None:
        raise services.InvalidInput("The quoted post is not in this thread.")
    post = services.reply_create(user=request.user, thread=found, place=place, body=request.POST.get("body"), quoted_id=quoted_id)
    if post.pending:
        messages.info(request, "Thanks! Your first post waits for a staff member's approval.")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)) + f"#post-{post.pk}")


@require_http_methods(["GET", "POST"])
@_guarded
def edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """GET: the edit form; POST ``body`` (and ``title`` for an opening post): save."""
    post, found, place = services.post_for(request.user, post_id, session=_session(request))
    back = safe_next_url(request, _thread_url(found))
    if request.method == "POST":
        services.post_edit(user=request.user, post=post, thread=found, place=place,
                           body=request.POST.get("body"), title=request.POST.get("title"))
        return HttpResponseRedirect(back + f"#post-{post.pk}")
    if post.author_id != request.user.pk:
        raise services.Forbidden("You can edit only your own posts.")
    return render(request, "discussions/edit.html",
                  {"post": post, "thread": found, "is_opening": found.opening_id == post.pk, "next": back})


@require_POST
@_guarded
def vote(request: HttpRequest, post_id: int) -> HttpResponse:
    """POST ``up`` (1, or 0 to take the vote back)."""
    post, found, _place = services.post_for(request.user, post_id, session=_session(request))
    services.vote(user=request.user, post=post, thread=found, up=request.POST.get("up", "1") != "0")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)))


@require_POST
@_guarded
def answered(request: HttpRequest, thread_id: int) -> HttpResponse:
    """POST ``post_id`` (empty: not answered any more)."""
    found, place = services.thread_for(request.user, thread_id, session=_session(request))
    raw = request.POST.get("post_id") or ""
    post_id = _int(raw) if raw else None
    if raw and post_id is None:
        raise services.InvalidInput("That reply is not in this thread.")
    services.mark_answered(user=request.user, thread=found, place=place, post_id=post_id)
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)))


@require_POST
@_guarded
def follow(request: HttpRequest, thread_id: int) -> HttpResponse:
    """POST ``on`` (1 follow, 0 stop)."""
    found, _place = services.thread_for(request.user, thread_id, session=_session(request))
    services.follow(user=request.user, thread=found, on=request.POST.get("on", "1") != "0")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)))


@require_POST
@_guarded
def report(request: HttpRequest, post_id: int) -> HttpResponse:
    """POST ``reason``: report a post to staff."""
    post, found, _place = services.post_for(request.user, post_id, session=_session(request))
    services.report(user=request.user, post=post, reason=request.POST.get("reason"))
    messages.success(request, "Thanks: staff will look at it.")
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)))


@require_POST
@_guarded
def moderate(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Staff: POST ``action``, ``reason`` and (for a post) ``post_id``."""
    found, place = services.thread_for(request.user, thread_id, session=_session(request))
    post = None
    raw = request.POST.get("post_id") or ""
    if raw:
        post_id = _int(raw)
        post = services.visible_posts(place, found).filter(pk=post_id).first() if post_id else None
        if post is None:
            raise services.NotFound("No such post.")
    services.moderate(user=request.user, thread=found, place=place, action=request.POST.get("action", ""),
                      reason=request.POST.get("reason", ""), post=post)
    return HttpResponseRedirect(safe_next_url(request, _thread_url(found)))
