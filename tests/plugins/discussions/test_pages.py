"""The lesson page's discussions, the thread page, the forms and the API: the same doors, and a
fixed number of queries whatever the number of threads and replies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from plugins.discussions import display, services
from plugins.discussions.models import Post, Thread, Vote
from tests.courses.helpers import Tree, logged_in
from tests.plugins.discussions.helpers import ask

pytestmark = pytest.mark.django_db

LESSON_URL = "/courses/python-basics/variables/"


@pytest.fixture(autouse=True)
def _render_every_time(settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE = False


def bulk_threads(lesson: Any, course: Any, author: Any, other: Any, *, threads: int, replies_each: int) -> None:
    """``threads`` threads on ``lesson`` with ``replies_each`` replies each and a vote on each
    opening post (rows written directly, as a bulk import would; like every service that
    writes threads, it tells the lesson's cache)."""
    now = timezone.now()
    made = Thread.objects.bulk_create(
        Thread(course=course, lesson=lesson, author=author, title=f"Thread {n}", created_at=now - timedelta(minutes=n),
               last_activity_at=now - timedelta(minutes=n), reply_count=replies_each)
        for n in range(threads)
    )
    openings = Post.objects.bulk_create(
        Post(thread=thread, author=author, body="Q", body_html="<p>Q</p>", created_at=now) for thread in made
    )
    for thread, opening in zip(made, openings, strict=True):
        thread.opening = opening
    Thread.objects.bulk_update(made, ["opening"])
    Post.objects.bulk_create(
        Post(thread=thread, author=other, body="A", body_html="<p>A</p>", created_at=now) for thread in made for _ in range(replies_each)
    )
    Vote.objects.bulk_create(Vote(post=opening, user=other) for opening in openings)
    services.lesson_changed(lesson.pk)


def _queries(client: Client, url: str) -> tuple[int, str]:
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


# A learner's warm lesson page: the user (the session is cached) and the lesson's state for the
# learner (their enrollment with the lesson's progress). The discussions fragment adds none: the
# course comes with the route, its discussion settings and the lesson's shared first page of
# threads come from the cache.
LESSON_PAGE_QUERIES = 2
# The same page right after a write to the lesson's threads: the first page again (1 query: the
# threads shown, their total, and whether any thread is seen by its author only).
LESSON_PAGE_QUERIES_AFTER_A_WRITE = LESSON_PAGE_QUERIES + 1


@pytest.mark.parametrize("threads", [1, 200, 2000])
def test_the_lesson_page_costs_the_same_whatever_the_threads(
    tree: Tree, lesson: Any, ada: Any, bob: Any, threads: int
) -> None:
    client = logged_in(ada)
    bulk_threads(lesson, tree.python, bob, ada, threads=threads, replies_each=10 if threads <= 200 else 1)
    with CaptureQueriesContext(connection) as cold:
        assert client.get(LESSON_URL).status_code == 200
    count, html = _queries(client, LESSON_URL)
    assert count == LESSON_PAGE_QUERIES
    shown = min(threads, display.LESSON_PAGE_SIZE)
    assert html.count("data-thread-id=") == shown
    assert f'<span data-thread-count>{threads}</span> thread{"s" if threads > 1 else ""}' in html
    assert ("Show more threads" in html) is (threads > shown)
    assert "<p>A</p>" not in html  # replies load on demand
    services.lesson_changed(lesson.pk)
    count, _ = _queries_once(client, LESSON_URL)
    assert count == LESSON_PAGE_QUERIES_AFTER_A_WRITE
    assert len(cold) >= count


def _queries_once(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_show_more_pages_through_the_lesson_threads_with_and_without_script(tree: Tree, lesson: Any, ada: Any, bob: Any) -> None:
    client = logged_in(ada)
    bulk_threads(lesson, tree.python, bob, ada, threads=25, replies_each=0)
    html = client.get(LESSON_URL).content.decode()
    more = f"/p/discussions/lessons/{lesson.pk}/threads/?sort=active&amp;q=&amp;page=2"
    assert f'href="{more}"' in html and "Thread 9<" in html and "Thread 10<" not in html
    page_two = client.get(more.replace("&amp;", "&")).content.decode()  # without the script: a page of its own
    assert "<h1>Discussions of Variables</h1>" in page_two
    assert page_two.count("data-thread-id=") == 10 and "Thread 10<" in page_two and "Thread 19<" in page_two
    fragment = client.get(more.replace("&amp;", "&") + "&fragment=1").content.decode()  # what the script appends
    assert "<html" not in fragment and fragment.count("data-thread-id=") == 10
    assert f'href="/p/discussions/lessons/{lesson.pk}/threads/?sort=active&amp;q=&amp;page=3"' in fragment
    last = client.get(f"/p/discussions/lessons/{lesson.pk}/threads/?page=3&fragment=1").content.decode()
    assert last.count("data-thread-id=") == 5 and "data-show-more" not in last
    assert client.get(f"/p/discussions/lessons/{lesson.pk}/threads/?sort=nope").status_code == 400


def test_a_write_through_a_service_shows_on_the_next_lesson_page(tree: Tree, lesson: Any, ada: Any, bob: Any, staff: Any) -> None:
    client = logged_in(ada)
    first = ask(bob, lesson, title="First question")
    assert "First question" in client.get(LESSON_URL).content.decode()  # cached now, shared
    ask(bob, lesson, title="Second question")
    html = client.get(LESSON_URL).content.decode()
    assert "Second question" in html and "<span data-thread-count>2</span> threads" in html
    found, place = services.thread_for(staff, first.pk)
    services.moderate(user=staff, thread=found, place=place, action="hide", reason="Off topic")
    html = client.get(LESSON_URL).content.decode()
    assert "First question" not in html and "<span data-thread-count>1</span> thread" in html
    # Its author still sees it (a thread only its author sees is never shared from the cache).
    own = logged_in(bob).get(LESSON_URL).content.decode()
    assert "First question" in own and "data-hidden" in own
    assert "First question" not in client.get(LESSON_URL).content.decode()


def test_anonymous_visitors_and_outsiders_see_nothing(tree: Tree, lesson: Any, ada: Any, outsider: Any) -> None:
    thread = ask(ada, lesson, title="Secret question")
    anonymous = Client()
    assert "Secret question" not in anonymous.get(LESSON_URL).content.decode()
    assert anonymous.get(f"/p/discussions/threads/{thread.pk}/?fragment=1").status_code == 404
    assert anonymous.get(f"/p/discussions/threads/{thread.pk}/").status_code == 302
    assert anonymous.get(f"/api/v1/p/discussions/threads/{thread.pk}/").status_code == 401
    stranger = logged_in(outsider)
    for url in (f"/p/discussions/threads/{thread.pk}/", f"/p/discussions/lessons/{lesson.pk}/threads/",
                f"/p/discussions/courses/{tree.python.pk}/", f"/api/v1/p/discussions/threads/{thread.pk}/",
                f"/api/v1/p/discussions/lessons/{lesson.pk}/threads/"):
        response = stranger.get(url)
        assert response.status_code == 404, url
        assert "Secret question" not in response.content.decode()
    response = stranger.post(f"/p/discussions/threads/{thread.pk}/reply/", {"body": "hi"})
    assert response.status_code == 404 and Post.objects.count() == 1


def test_forms_post_reply_vote_answer_and_search(tree: Tree, lesson: Any, ada: Any, bob: Any) -> None:
    client_ada, client_bob = logged_in(ada), logged_in(bob)
    response = client_ada.post(f"/p/discussions/lessons/{lesson.pk}/threads/new/",
                               {"kind": "question", "title": "Why snake_case?", "body": "**Really** why?", "next": LESSON_URL})
    assert response.status_code == 302 and response["Location"] == LESSON_URL
    thread = Thread.objects.get()
    assert client_ada.post(f"/p/discussions/lessons/{lesson.pk}/threads/new/", {"kind": "poll", "title": "x", "body": "y"}).status_code == 400
    response = client_bob.post(f"/p/discussions/threads/{thread.pk}/reply/", {"body": "PEP 8 says so", "quoted_id": "abc"})
    assert response.status_code == 400
    client_bob.post(f"/p/discussions/threads/{thread.pk}/reply/", {"body": "PEP 8 says so"})
    reply = Post.objects.exclude(pk=thread.opening_id).get()
    client_bob.post(f"/p/discussions/posts/{thread.opening_id}/vote/", {"up": "1"})
    client_ada.post(f"/p/discussions/threads/{thread.pk}/answered/", {"post_id": str(reply.pk)})
    thread.refresh_from_db()
    assert (thread.vote_count, thread.answered_post_id, thread.reply_count) == (1, reply.pk, 1)
    page = client_bob.get(LESSON_URL + "?dsort=votes&dq=snake").content.decode()
    assert "Why snake_case?" in page and "Answered" in page
    assert "Why snake_case?" not in client_bob.get(LESSON_URL + "?dq=nothing-like-it").content.decode()
    detail = client_bob.get(f"/p/discussions/threads/{thread.pk}/?fragment=1").content.decode()
    assert "<strong>Really</strong>" in detail and "PEP 8 says so" in detail
    course_page = client_bob.get(f"/p/discussions/courses/{tree.python.pk}/?q=pep").content.decode()
    assert "Why snake_case?" in course_page


def test_the_api_has_the_same_contract(tree: Tree, lesson: Any, ada: Any, bob: Any, outsider: Any) -> None:
    api_ada, api_bob = logged_in(ada), logged_in(bob)
    base = "/api/v1/p/discussions"
    response = api_ada.post(f"{base}/lessons/{lesson.pk}/threads/", {"title": "API?", "body": "Yes", "extra": 1},
                            content_type="application/json")
    assert response.status_code == 400 and "extra" in response.json()["error"]["fields"]
    response = api_ada.post(f"{base}/lessons/{lesson.pk}/threads/", {"title": "API?", "body": "Yes <script>x</script>"},
                            content_type="application/json")
    assert response.status_code == 201
    thread_id = response.json()["id"]
    reply = api_bob.post(f"{base}/threads/{thread_id}/replies/", {"body": "Sure"}, content_type="application/json").json()
    assert api_bob.put(f"{base}/posts/{reply['id']}/vote/").status_code == 403  # one's own post
    assert api_ada.put(f"{base}/posts/{reply['id']}/vote/").json() == {"votes": 1, "voted": True}
    assert api_ada.post(f"{base}/threads/{thread_id}/answered/", {"post_id": reply["id"]}, content_type="application/json").status_code == 200
    listed = api_bob.get(f"{base}/lessons/{lesson.pk}/threads/?sort=votes").json()
    assert len(listed["results"]) == 1 and listed["results"][0]["answered_post_id"] == reply["id"]
    assert api_bob.get(f"{base}/lessons/{lesson.pk}/threads/?sort=nope").status_code == 400
    detail = api_bob.get(f"{base}/threads/{thread_id}/").json()
    assert [p["body"] for p in detail["posts"]] == ["Yes <script>x</script>", "Sure"]
    assert "<script>" not in detail["posts"][0]["body_html"]
    assert logged_in(outsider).get(f"{base}/threads/{thread_id}/").json()["error"]["code"] == "not_found"
    assert api_bob.get(f"{base}/threads/99999999999999999999/").status_code == 404


def test_the_api_says_when_to_post_again_like_the_throttles(lesson: Any, ada: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(services, "POST_RATE", "1/10m")
    api = logged_in(ada)
    url = f"/api/v1/p/discussions/lessons/{lesson.pk}/threads/"
    assert api.post(url, {"title": "One", "body": "x"}, content_type="application/json").status_code == 201
    refused = api.post(url, {"title": "Two", "body": "y"}, content_type="application/json")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 600
    page = api.post(f"/p/discussions/lessons/{lesson.pk}/threads/new/", {"title": "Three", "body": "z"})
    assert page.status_code == 429 and 1 <= int(page["Retry-After"]) <= int(refused["Retry-After"])
    assert Thread.objects.count() == 1
