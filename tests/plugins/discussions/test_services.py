"""Discussions' rules: the access matrix over threads, edits with history, answers, votes,
follows and notifications, the digest, moderation with its audit log, pre-moderation, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from academy.sdk import Notification, course_group, live_frames, set_plugin_state
from learning.models import Enrollment
from learning.services import enrollment_cancel
from plugins.discussions import services, tasks
from plugins.discussions.models import (
    CourseSettings,
    Digest,
    ModerationAction,
    Post,
    Revision,
    Thread,
    Vote,
)
from tests.courses.helpers import Tree
from tests.plugins.discussions.helpers import answer, ask, place

pytestmark = pytest.mark.django_db


def _can_see(user: Any, thread: Thread) -> bool:
    try:
        services.thread_for(user, thread.pk)
    except services.NotFound:
        return False
    return True


def test_access_matrix_over_threads(tree: Tree, lesson: Any, ada: Any, bob: Any, staff: Any, outsider: Any, pending: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    thread = ask(ada, lesson)
    course_thread = services.thread_create(
        user=ada, place=services.readable_place(ada, course_id=tree.python.pk), kind="discussion", title="Hello all", body="Hi"
    )
    matrix = {
        name: (_can_see(user, thread), _can_see(user, course_thread))
        for name, user in {"ada": ada, "bob": bob, "staff": staff, "outsider": outsider, "pending": pending,
                           "anonymous": AnonymousUser()}.items()
    }
    assert matrix == {
        "ada": (True, True), "bob": (True, True), "staff": (True, True),
        "outsider": (False, False), "pending": (False, False), "anonymous": (False, False),
    }
    # Hidden: staff and the author; deleted: staff only.
    services.moderate(user=staff, thread=thread, place=place(staff, lesson), action="hide", reason="Off topic")
    assert (_can_see(ada, thread), _can_see(bob, thread), _can_see(staff, thread)) == (True, False, True)
    services.moderate(user=staff, thread=Thread.objects.get(pk=thread.pk), place=place(staff, lesson), action="delete", reason="Spam")
    assert (_can_see(ada, thread), _can_see(bob, thread), _can_see(staff, thread)) == (False, False, True)
    # An enrollment that ends closes every door; so does switching the plugin off for the course.
    enrollment_cancel(enrollment=Enrollment.objects.get(user=bob, course=tree.python), by=bob)
    assert not _can_see(bob, course_thread)
    set_plugin_state("discussions", "off", course_id=tree.python.pk)
    assert not _can_see(ada, course_thread)


def test_threads_scoped_by_cohort_are_seen_by_their_cohort_and_staff(tree: Tree, lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    from learning.models import Cohort

    first = Cohort.objects.create(course=tree.python, name="Spring")
    second = Cohort.objects.create(course=tree.python, name="Autumn")
    Enrollment.objects.filter(user=ada).update(cohort=first)
    Enrollment.objects.filter(user=bob).update(cohort=second)
    CourseSettings.objects.create(course=tree.python, scope_by_cohort=True)
    thread = ask(ada, lesson)
    assert thread.cohort_id == first.pk
    assert (_can_see(ada, thread), _can_see(bob, thread), _can_see(staff, thread)) == (True, False, True)


def test_edit_within_the_window_keeps_the_history(lesson: Any, ada: Any, bob: Any) -> None:
    thread = ask(ada, lesson, title="Old title", body="First words")
    opening = thread.opening
    services.post_edit(user=ada, post=opening, thread=thread, place=place(ada, lesson), body="Better words", title="New title")
    thread.refresh_from_db()
    opening.refresh_from_db()
    assert (thread.title, opening.body, opening.edited_at is not None) == ("New title", "Better words", True)
    assert list(Revision.objects.values_list("title", "body")) == [("Old title", "First words")]
    with pytest.raises(services.Forbidden):
        services.post_edit(user=bob, post=opening, thread=thread, place=place(bob, lesson), body="Mine now")
    late = opening.created_at + timedelta(minutes=services.EDIT_WINDOW_MINUTES, seconds=1)
    with pytest.raises(services.Conflict):
        services.post_edit(user=ada, post=opening, thread=thread, place=place(ada, lesson), body="Too late", now=late)
    assert Revision.objects.count() == 1


def test_answered_by_the_asker_or_staff_only(lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    thread = ask(ada, lesson)
    reply = answer(bob, thread)
    with pytest.raises(services.Forbidden):
        services.mark_answered(user=bob, thread=thread, place=place(bob, lesson), post_id=reply.pk)
    with pytest.raises(services.InvalidInput):
        services.mark_answered(user=ada, thread=thread, place=place(ada, lesson), post_id=thread.opening_id)
    services.mark_answered(user=ada, thread=thread, place=place(ada, lesson), post_id=reply.pk)
    assert Thread.objects.get(pk=thread.pk).answered_post_id == reply.pk
    services.mark_answered(user=staff, thread=thread, place=place(staff, lesson), post_id=None)
    assert Thread.objects.get(pk=thread.pk).answered_post_id is None


def test_votes_are_one_per_person_and_not_for_oneself(lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    thread = ask(ada, lesson)
    for _ in range(3):
        services.vote(user=bob, post=thread.opening, thread=thread)
    assert services.vote(user=staff, post=thread.opening, thread=thread) == 2
    with pytest.raises(services.Forbidden):
        services.vote(user=ada, post=thread.opening, thread=thread)
    assert services.vote(user=bob, post=thread.opening, thread=thread, up=False) == 1
    assert (Vote.objects.count(), Thread.objects.get(pk=thread.pk).vote_count) == (1, 1)


def test_a_reply_is_published_and_notifies_each_follower_once(
    tree: Tree, lesson: Any, ada: Any, bob: Any, staff: Any, django_capture_on_commit_callbacks: Any
) -> None:
    thread = ask(ada, lesson)
    answer(staff, thread, body="First")  # staff now follow it too
    since = live_frames(course_group(tree.python.pk))[-1]["id"]
    reply = answer(bob, thread, body="Second")
    frames = live_frames(course_group(tree.python.pk), since=since)
    assert [(f["type"], f["data"]["thread_id"], f["data"].get("post_id")) for f in frames] == [
        ("discussions.reply", thread.pk, reply.pk)
    ]
    assert "Second" not in str(frames)  # ids and counts only: the text goes through the fragment's access check
    assert tasks.notify_reply(post_id=reply.pk) == 2  # ada (asker) and staff; not bob
    assert tasks.notify_reply(post_id=reply.pk) == 0  # a task run twice notifies nobody twice
    titles = sorted(Notification.objects.filter(title__contains=thread.title).values_list("user__username", flat=True))
    assert titles == ["ada", "grace"]


def test_a_follower_who_may_no_longer_read_gets_nothing(tree: Tree, lesson: Any, ada: Any, bob: Any) -> None:
    thread = ask(ada, lesson)
    enrollment_cancel(enrollment=Enrollment.objects.get(user=ada, course=tree.python), by=ada)
    reply = answer(bob, thread)
    assert tasks.notify_reply(post_id=reply.pk) == 0


def test_the_digest_is_sent_once_per_period(lesson: Any, ada: Any, bob: Any) -> None:
    thread = ask(ada, lesson)
    for body in ("One", "Two"):
        tasks.notify_reply(post_id=answer(bob, thread, body=body).pk)
    now = timezone.now()
    assert tasks.send_digests(now=now) == 1
    assert tasks.send_digests(now=now) == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    assert "2 new replies" in mail.outbox[0].subject and thread.title in mail.outbox[0].body
    # The next period with nothing new sends nothing either; a new reply goes in the next one.
    assert tasks.send_digests(now=now + timedelta(minutes=tasks.DIGEST_MINUTES)) == 0
    tasks.notify_reply(post_id=answer(bob, thread, body="Three").pk)
    assert tasks.send_digests(now=now + timedelta(minutes=tasks.DIGEST_MINUTES)) == 1
    assert Digest.objects.count() == 2 and len(mail.outbox) == 2


def test_moderation_needs_staff_and_a_reason_and_is_audited(lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    thread = ask(ada, lesson)
    reply = answer(bob, thread, body="rude words")
    services.report(user=ada, post=reply, reason="Rude")
    assert list(services.pending_posts(thread.course_id)) == [reply]
    with pytest.raises(services.Forbidden):
        services.moderate(user=ada, thread=thread, place=place(ada, lesson), action="hide", reason="x", post=reply)
    with pytest.raises(services.InvalidInput):
        services.moderate(user=staff, thread=thread, place=place(staff, lesson), action="hide", reason="", post=reply)
    services.moderate(user=staff, thread=thread, place=place(staff, lesson), action="hide", reason="Rude", post=reply)
    services.moderate(user=staff, thread=thread, place=place(staff, lesson), action="lock", reason="Settled")
    assert list(ModerationAction.objects.values_list("action", "reason", "actor__username")) == [
        ("lock", "Settled", "grace"), ("hide", "Rude", "grace"),
    ]
    assert list(services.pending_posts(thread.course_id)) == []
    assert Thread.objects.get(pk=thread.pk).reply_count == 0
    with pytest.raises(services.Conflict):
        answer(bob, Thread.objects.get(pk=thread.pk))


def test_pre_moderation_holds_a_learners_first_post(tree: Tree, lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    CourseSettings.objects.create(course=tree.python, premoderate_first_posts=True)
    thread = ask(ada, lesson)
    assert thread.pending and not _can_see(bob, thread) and _can_see(ada, thread)
    services.moderate(user=staff, thread=thread, place=place(staff, lesson), action="approve")
    assert _can_see(bob, thread)
    second = ask(ada, lesson, title="Another one")
    assert not second.pending


def test_posting_is_rate_limited(lesson: Any, ada: Any, settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "POST_RATE", "2/10m")
    ask(ada, lesson, title="One")
    ask(ada, lesson, title="Two")
    with pytest.raises(services.RateLimited):
        ask(ada, lesson, title="Three")
    assert Thread.objects.count() == 2


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>", "<svg onload=alert(1)>", "[x](JaVaScRiPt:alert(1))",
])
def test_markdown_is_sanitised(lesson: Any, ada: Any, payload: str) -> None:
    thread = ask(ada, lesson, body=payload)
    html = Post.objects.get(pk=thread.opening_id).body_html
    assert _dangerous(html) == []


def _dangerous(html: str) -> list[str]:
    """Script elements, event-handler attributes and script URLs in ``html`` (as a browser parses it)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in {"script", "svg", "img", "iframe", "object", "style"}:
                found.append(tag)
            for name, value in attrs:
                if name.startswith("on") or name == "style" or (value or "").strip().lower().startswith(("javascript:", "data:")):
                    found.append(f"{tag}[{name}]")

    Parser().feed(html)
    return found


def test_unanswered_queue_and_median_time_to_first_staff_answer(lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    first, second, third = (ask(ada, lesson, title=t) for t in ("A", "B", "C"))
    answer(bob, first)  # a learner's reply does not take it off the queue
    assert [t.title for t in services.unanswered_questions(lesson.get_parent().pk)] == ["A", "B", "C"]
    base = timezone.now()
    Thread.objects.filter(pk=first.pk).update(created_at=base - timedelta(minutes=30))
    Thread.objects.filter(pk=second.pk).update(created_at=base - timedelta(minutes=90))
    for thread in (first, second):
        found, where = services.thread_for(staff, thread.pk)
        services.reply_create(user=staff, thread=found, place=where, body="Here", now=base)
    assert [t.title for t in services.unanswered_questions(lesson.get_parent().pk)] == ["C"]
    assert services.median_first_staff_answer(lesson.get_parent().pk) == timedelta(minutes=60)
    assert third.first_staff_reply_at is None
