"""The discussions API under ``/api/v1/p/discussions/`` (namespace ``api-discussions``).

The site's DRF defaults apply (token or session authentication, throttles, JSON, errors in the
API's one shape); the services' errors are answered with their status. Views are the SDK's ``ApiView`` (ETag
and ``If-None-Match`` on reads, ``Idempotency-Key`` on POSTs, a repeated query parameter refused)
and bodies its ``InputSerializer``. The same doors as the pages: a lesson, course, thread or post the caller may not read is a 404, an unknown body field
a 400, too many posts a 429. Text comes back as written (``body``) and as sanitised HTML
(``body_html``).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from academy.sdk import ApiView, InputSerializer, ServiceError
from plugins.discussions import display, services
from plugins.discussions.models import Post, Thread


class NewThreadInput(InputSerializer):
    kind = serializers.ChoiceField(choices=Thread.Kind.choices, default=Thread.Kind.QUESTION)
    title = serializers.CharField(max_length=services.TITLE_MAX)
    body = serializers.CharField(max_length=20_000)


class ReplyInput(InputSerializer):
    body = serializers.CharField(max_length=20_000)
    quoted_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)


class EditInput(InputSerializer):
    body = serializers.CharField(max_length=20_000)
    title = serializers.CharField(max_length=services.TITLE_MAX, required=False)


class AnsweredInput(InputSerializer):
    post_id = serializers.IntegerField(allow_null=True, min_value=1, max_value=2**63 - 1)


class ReportInput(InputSerializer):
    reason = serializers.CharField(max_length=services.REASON_MAX)


class ModerationInput(InputSerializer):
    action = serializers.ChoiceField(choices=sorted(services.THREAD_ACTIONS | services.POST_ACTIONS))
    reason = serializers.CharField(max_length=services.REASON_MAX, required=False, allow_blank=True, default="")
    post_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)


def _author(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": display.display_name(user)}


def thread_data(thread: Thread, *, voted: bool = False, following: bool = False) -> dict[str, Any]:
    """A thread's summary in the API."""
    return {
        "id": thread.pk, "course_id": thread.course_id, "lesson_id": thread.lesson_id, "kind": thread.kind,
        "title": thread.title, "author": _author(thread.author), "by_staff": bool(thread.opening and thread.opening.by_staff),
        "pinned": thread.pinned, "locked": thread.locked, "answered_post_id": thread.answered_post_id,
        "votes": thread.vote_count, "replies": thread.reply_count, "voted": voted, "following": following,
        "created_at": thread.created_at.isoformat(), "last_activity_at": thread.last_activity_at.isoformat(),
        "pending": thread.pending, "hidden": thread.hidden, "deleted": thread.deleted,
    }


def post_data(post: Post, *, voted: bool = False) -> dict[str, Any]:
    """A post in the API."""
    return {
        "id": post.pk, "thread_id": post.thread_id, "author": _author(post.author), "by_staff": post.by_staff,
        "body": post.body, "body_html": post.body_html, "quoted_id": post.quoted_id, "votes": post.vote_count,
        "voted": voted, "created_at": post.created_at.isoformat(),
        "edited_at": post.edited_at.isoformat() if post.edited_at else None,
        "pending": post.pending, "hidden": post.hidden, "deleted": post.deleted,
    }


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _session(request: Request) -> Any:
    return getattr(request._request, "session", None)


def _place(request: Request, **where: int) -> services.Place:
    try:
        return services.readable_place(request.user, session=_session(request), **where)
    except ServiceError as exc:
        raise NotFound(exc.message) from exc


class ThreadsView(ApiView):
    """GET: a page of threads (``sort``, ``q``, ``page``); POST: a new thread."""

    where: str = "lesson_id"

    def get(self, request: Request, **kwargs: int) -> Response:
        """``{"page", "next_page", "results"}``."""
        place = _place(request, **kwargs)
        sort = request.query_params.get("sort", "active")
        if sort not in services.SORTS:
            raise services.InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(services.SORTS)}.")
        page = display.thread_page(place, sort=sort, query=request.query_params.get("q", "")[:200],
                                   page=display.parse_page(request.query_params.get("page")))
        return Response({
            "page": page.page, "next_page": page.next_page if page.has_more else None,
            "results": [thread_data(t, voted=t.opening_id in page.voted, following=t.pk in page.followed) for t in page.threads],
        })

    def post(self, request: Request, **kwargs: int) -> Response:
        """201 with the thread."""
        place = _place(request, **kwargs)
        data = _valid(NewThreadInput, request)
        thread = services.thread_create(user=request.user, place=place, **data)
        return Response(thread_data(Thread.objects.select_related("author", "opening").get(pk=thread.pk), following=True), status=201)


class ThreadView(ApiView):
    """GET: a thread with every post the caller may see."""

    def get(self, request: Request, thread_id: int) -> Response:
        """``{"thread", "posts"}``."""
        thread, place = services.thread_for(request.user, thread_id, session=_session(request))
        detail = display.thread_detail(place, thread)
        posts = [p for p in (detail.opening, *detail.replies) if p is not None]
        return Response({
            "thread": thread_data(Thread.objects.select_related("author", "opening").get(pk=thread.pk),
                                  voted=thread.opening_id in detail.voted, following=detail.following),
            "posts": [post_data(p, voted=p.pk in detail.voted) for p in posts],
        })


class RepliesView(ApiView):
    """POST: reply to a thread."""

    def post(self, request: Request, thread_id: int) -> Response:
        """201 with the reply."""
        thread, place = services.thread_for(request.user, thread_id, session=_session(request))
        data = _valid(ReplyInput, request)
        post = services.reply_create(user=request.user, thread=thread, place=place, body=data["body"], quoted_id=data.get("quoted_id"))
        return Response(post_data(Post.objects.select_related("author").get(pk=post.pk)), status=201)


class AnsweredView(ApiView):
    """POST ``{"post_id"}`` (null: not answered any more)."""

    def post(self, request: Request, thread_id: int) -> Response:
        """The thread."""
        thread, place = services.thread_for(request.user, thread_id, session=_session(request))
        data = _valid(AnsweredInput, request)
        services.mark_answered(user=request.user, thread=thread, place=place, post_id=data["post_id"])
        return Response(thread_data(Thread.objects.select_related("author", "opening").get(pk=thread.pk)))


class FollowView(ApiView):
    """PUT: follow a thread; DELETE: stop."""

    def put(self, request: Request, thread_id: int) -> Response:
        """``{"following": true}``."""
        thread, _place = services.thread_for(request.user, thread_id, session=_session(request))
        return Response({"following": services.follow(user=request.user, thread=thread, on=True)})

    def delete(self, request: Request, thread_id: int) -> Response:
        """``{"following": false}``."""
        thread, _place = services.thread_for(request.user, thread_id, session=_session(request))
        return Response({"following": services.follow(user=request.user, thread=thread, on=False)})


class ModerationView(ApiView):
    """POST ``{"action", "reason", "post_id"}``: staff moderation (audited); sessions and
    personal tokens only (no service or app token scope grants it)."""

    scoped_tokens = False

    def post(self, request: Request, thread_id: int) -> Response:
        """The thread after the action."""
        thread, place = services.thread_for(request.user, thread_id, session=_session(request))
        data = _valid(ModerationInput, request)
        post = None
        if data.get("post_id"):
            post = services.visible_posts(place, thread).filter(pk=data["post_id"]).first()
            if post is None:
                raise NotFound("No such post.")
        services.moderate(user=request.user, thread=thread, place=place, action=data["action"], reason=data["reason"], post=post)
        return Response(thread_data(Thread.objects.select_related("author", "opening").get(pk=thread.pk)))


class PostView(ApiView):
    """PATCH ``{"body", "title"}``: edit one's own post within the edit window."""

    def patch(self, request: Request, post_id: int) -> Response:
        """The post."""
        post, thread, place = services.post_for(request.user, post_id, session=_session(request))
        data = _valid(EditInput, request)
        services.post_edit(user=request.user, post=post, thread=thread, place=place, body=data["body"], title=data.get("title"))
        return Response(post_data(Post.objects.select_related("author").get(pk=post.pk)))


class VoteView(ApiView):
    """PUT: upvote a post; DELETE: take the vote back."""

    def put(self, request: Request, post_id: int) -> Response:
        """``{"votes", "voted": true}``."""
        post, thread, _place = services.post_for(request.user, post_id, session=_session(request))
        return Response({"votes": services.vote(user=request.user, post=post, thread=thread, up=True), "voted": True})

    def delete(self, request: Request, post_id: int) -> Response:
        """``{"votes", "voted": false}``."""
        post, thread, _place = services.post_for(request.user, post_id, session=_session(request))
        return Response({"votes": services.vote(user=request.user, post=post, thread=thread, up=False), "voted": False})


class ReportView(ApiView):
    """POST ``{"reason"}``: report a post to staff."""

    def post(self, request: Request, post_id: int) -> Response:
        """201 ``{"reported": true}``."""
        post, _thread, _place = services.post_for(request.user, post_id, session=_session(request))
        services.report(user=request.user, post=post, reason=_valid(ReportInput, request)["reason"])
        return Response({"reported": True}, status=201)


urlpatterns = [
    path("lessons/<id:lesson_id>/threads/", ThreadsView.as_view(), name="lesson-threads"),
    path("courses/<id:course_id>/threads/", ThreadsView.as_view(), name="course-threads"),
    path("threads/<id:thread_id>/", ThreadView.as_view(), name="thread"),
    path("threads/<id:thread_id>/replies/", RepliesView.as_view(), name="replies"),
    path("threads/<id:thread_id>/answered/", AnsweredView.as_view(), name="answered"),
    path("threads/<id:thread_id>/follow/", FollowView.as_view(), name="follow"),
    path("threads/<id:thread_id>/moderation/", ModerationView.as_view(), name="moderation"),
    path("posts/<id:post_id>/", PostView.as_view(), name="post"),
    path("posts/<id:post_id>/vote/", VoteView.as_view(), name="vote"),
    path("posts/<id:post_id>/reports/", ReportView.as_view(), name="report"),
]
