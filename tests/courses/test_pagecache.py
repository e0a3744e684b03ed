"""The anonymous page cache (courses.pagecache): hits, precise purges, and what is never shared.

Every test runs on the embedded default (the file cache) and on real Redis (django-redis).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.utils import timezone
from taggit.models import Tag
from wagtail.models import PageViewRestriction

from courses import pagecache
from courses.models import CoursePage, Instructor, LessonPage
from learning import services
from tests.courses.helpers import Tree, logged_in, make_course, make_lesson

CACHE = pagecache.CACHE_HEADER


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
def shared_cache(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> str:
    """The embedded default (a file cache), then django-redis on REDIS_URL."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": django_settings.REDIS_URL,
                "KEY_PREFIX": f"{django_settings.CACHE_KEY_PREFIX}-pagecache-test",
            }
        }
    else:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
        }
    from django.core.cache import cache

    cache.clear()
    return request.param


pytestmark = pytest.mark.usefixtures("shared_cache")


def get(client: Client, url: str, **params: str) -> tuple[str | None, int, str]:
    """(X-Cache, status, body) of an anonymous GET."""
    response = client.get(url, params)
    return response.headers.get(CACHE), response.status_code, response.content.decode()


def test_anonymous_page_is_served_from_the_cache_the_second_time(tree: Tree, client: Client) -> None:
    for url in ("/", "/courses/", "/courses/python-basics/", "/courses/python-basics/variables/"):
        first = get(client, url)
        second = get(client, url)
        assert (first[0], first[1], second[0], second[1]) == ("miss", 200, "hit", 200)
        assert second[2] == first[2]


def test_hit_costs_no_database_query(tree: Tree, client: Client, django_assert_num_queries: Any) -> None:
    get(client, "/courses/python-basics/")
    with django_assert_num_queries(0):
        assert get(client, "/courses/python-basics/")[0] == "hit"


def test_course_publish_is_visible_at_once_on_the_course_its_lessons_the_catalog_and_home(
    tree: Tree, client: Client
) -> None:
    urls = ["/", "/courses/", "/courses/python-basics/", "/courses/python-basics/variables/"]
    for url in urls:
        get(client, url)
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.title = "Python from scratch"
    course.save_revision().publish()
    for url in urls:
        state, status, html = get(client, url)
        assert (url, state, status, "Python from scratch" in html) == (url, "miss", 200, True)
    # Untouched pages keep their entries.
    get(client, "/courses/databases-with-sql/joins/")
    assert get(client, "/courses/databases-with-sql/joins/")[0] == "hit"


def test_lesson_publish_purges_its_siblings_and_course_not_other_courses(tree: Tree, client: Client) -> None:
    for url in ("/courses/python-basics/", "/courses/python-basics/functions/", "/courses/databases-with-sql/"):
        get(client, url)
    make_lesson(tree.python, "Packaging")
    assert get(client, "/courses/python-basics/functions/")[0:2] == ("miss", 200)
    assert "Lesson 2 of 4" in get(client, "/courses/python-basics/functions/")[2]
    state, _status, html = get(client, "/courses/python-basics/")
    assert state == "miss" and "Packaging" in html
    assert get(client, "/courses/databases-with-sql/")[0] == "hit"


def test_unpublish_is_visible_at_once(tree: Tree, client: Client) -> None:
    for url in ("/courses/", "/courses/python-basics/", "/courses/python-basics/variables/"):
        get(client, url)
    CoursePage.objects.get(pk=tree.python.pk).unpublish()
    assert get(client, "/courses/python-basics/")[1] == 404
    assert get(client, "/courses/python-basics/variables/")[1] == 404
    assert "Python basics" not in get(client, "/courses/")[2]


def test_delete_is_visible_at_once(tree: Tree, client: Client) -> None:
    get(client, "/courses/python-basics/modules/")
    get(client, "/courses/python-basics/")
    LessonPage.objects.get(pk=tree.lessons[2].pk).delete()
    assert get(client, "/courses/python-basics/modules/")[1] == 404
    assert "Modules" not in get(client, "/courses/python-basics/")[2]


def test_move_is_visible_at_once_at_the_old_and_new_places(tree: Tree, client: Client) -> None:
    urls = ["/courses/python-basics/modules/", "/courses/python-basics/", "/courses/databases-with-sql/"]
    for url in urls:
        get(client, url)
    LessonPage.objects.get(pk=tree.lessons[2].pk).move(tree.sql, pos="last-child")
    # Not the stored page: Wagtail's redirect (created on move) to the new place.
    old = client.get("/courses/python-basics/modules/")
    assert (old.status_code, old["Location"]) == (301, "/courses/databases-with-sql/modules/")
    assert get(client, "/courses/databases-with-sql/modules/")[1] == 200
    assert "Modules" not in get(client, "/courses/python-basics/")[2]
    assert "Modules" in get(client, "/courses/databases-with-sql/")[2]


def test_slug_change_purges_the_old_urls_of_the_subtree(
    tree: Tree, client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    get(client, "/courses/python-basics/variables/")
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.slug = "python"
    with django_capture_on_commit_callbacks(execute=True):  # Wagtail sends page_slug_changed on commit
        course.save_revision().publish()
    old = client.get("/courses/python-basics/variables/")
    assert (old.status_code, old["Location"]) == (301, "/courses/python/variables/")
    assert get(client, "/courses/python/variables/")[1] == 200


def test_scheduled_publish_is_visible_at_once(tree: Tree, client: Client) -> None:
    course = make_course(tree.catalog, "Rust basics", slug="rust-basics", live=False)
    revision = course.save_revision(approved_go_live_at=timezone.now() - timedelta(minutes=1))
    course.go_live_at = revision.approved_go_live_at
    assert "Rust basics" not in get(client, "/courses/")[2]
    call_command("publish_scheduled", verbosity=0)
    assert get(client, "/courses/rust-basics/")[1] == 200
    assert "Rust basics" in get(client, "/courses/")[2]


def test_instructor_edit_purges_the_courses_that_show_it(tree: Tree, client: Client) -> None:
    instructor = Instructor.objects.create(name="Grace Hopper")
    course = CoursePage.objects.get(pk=tree.python.pk)
    course.instructor = instructor
    course.save_revision().publish()
    assert "Grace Hopper" in get(client, "/courses/")[2]
    get(client, "/courses/python-basics/")
    instructor.name = "Rear Admiral Grace Hopper"
    instructor.save()
    assert "Rear Admiral Grace Hopper" in get(client, "/courses/")[2]
    assert "Rear Admiral Grace Hopper" in get(client, "/courses/python-basics/")[2]


def test_tag_rename_purges_the_catalog_and_home(tree: Tree, client: Client) -> None:
    get(client, "/")
    get(client, "/courses/")
    tag = Tag.objects.get(slug="sql")
    tag.name = "Databases"
    tag.save()
    assert ">Databases <span" in get(client, "/courses/")[2]
    assert ">Databases <span" in get(client, "/")[2]


def test_catalog_variants_are_keyed_apart(tree: Tree, client: Client) -> None:
    variants = [{}, {"tag": "sql"}, {"q": "relational"}, {"page": "2"}, {"tag": "python", "q": "python"}]
    first = [get(client, "/courses/", **params) for params in variants]
    assert [state for state, _status, _html in first] == ["miss"] * len(variants)
    again = [get(client, "/courses/", **params) for params in variants]
    assert [state for state, _status, _html in again] == ["hit"] * len(variants)
    assert [html for _s, _c, html in again] == [html for _s, _c, html in first]
    assert "Python basics" in first[0][2] and "Python basics" not in first[1][2]
    assert "Databases with SQL" in first[2][2] and "Python basics" not in first[2][2]
    # A course publish purges every variant of the catalog.
    make_course(tree.catalog, "SQL for pythonistas", slug="sql-python", tags=["Python", "SQL"])
    assert [get(client, "/courses/", **params)[0] for params in variants] == ["miss"] * len(variants)


def test_unknown_query_parameters_and_long_query_strings_bypass_the_cache(tree: Tree, client: Client) -> None:
    assert get(client, "/courses/", utm_source="mail")[0] is None
    assert get(client, "/courses/python-basics/", page="2")[0] == "miss"  # asked, never stored
    assert get(client, "/courses/python-basics/", page="2")[0] == "miss"
    assert get(client, "/courses/", q="x" * (pagecache.MAX_QUERY_LENGTH + 1))[0] is None


def test_logged_in_response_is_never_stored_nor_served_to_anyone_else(tree: Tree, client: Client) -> None:
    learner = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    services.enrollment_request(user=learner, course=tree.python)
    member = logged_in(learner)
    mine = member.get("/courses/python-basics/")
    assert (mine.headers.get(CACHE), mine.status_code) == (None, 200)
    assert "Log out" in mine.content.decode() and "You are enrolled" in mine.content.decode()
    state, _status, html = get(client, "/courses/python-basics/")
    assert state == "miss" and "Log out" not in html and "You are enrolled" not in html
    assert get(client, "/courses/python-basics/")[0] == "hit"
    # ...and the anonymous entry is never served to the learner.
    again = member.get("/courses/python-basics/")
    assert again.headers.get(CACHE) is None and "You are enrolled" in again.content.decode()


def test_visitor_with_a_session_cookie_is_never_served_from_the_cache(tree: Tree, client: Client) -> None:
    get(client, "/courses/python-basics/")
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "not-a-session"
    response = client.get("/courses/python-basics/")
    assert (response.headers.get(CACHE), response.status_code) == (None, 200)


def test_password_restricted_page_is_never_stored_and_still_asks_for_its_password(tree: Tree, client: Client) -> None:
    PageViewRestriction.objects.create(page=tree.python, restriction_type=PageViewRestriction.PASSWORD, password="s3cret")
    for url in ("/courses/python-basics/", "/courses/python-basics/variables/"):
        for _ in range(2):
            state, status, html = get(client, url)
            assert (state, status, 'name="password"' in html) == ("miss", 200, True)


def test_login_restricted_page_is_never_stored(tree: Tree, client: Client) -> None:
    PageViewRestriction.objects.create(page=tree.python, restriction_type=PageViewRestriction.LOGIN)
    for _ in range(2):
        assert get(client, "/courses/python-basics/")[0:2] == ("miss", 302)
    learner = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    assert logged_in(learner).get("/courses/python-basics/").status_code == 200
    assert get(client, "/courses/python-basics/")[0:2] == ("miss", 302)


def _through_middleware(view: Callable[[HttpRequest], HttpResponse]) -> list[str | None]:
    """Two anonymous GETs of a shareable page rendered by ``view``, through the real middleware."""
    middleware = pagecache.AnonymousPageCacheMiddleware(view)
    states = []
    for _ in range(2):
        request = RequestFactory().get("/courses/")
        states.append(middleware(request).headers.get(CACHE))
    return states


def _shareable(request: HttpRequest) -> HttpResponse:
    pagecache.mark_shareable(request, query_params=())
    return HttpResponse("<p>page</p>")


def test_response_that_sets_a_cookie_is_not_stored(db: None) -> None:
    def sets_cookie(request: HttpRequest) -> HttpResponse:
        response = _shareable(request)
        response.set_cookie("seen", "1")
        return response

    assert _through_middleware(sets_cookie) == ["miss", "miss"]
    assert _through_middleware(_shareable) == ["miss", "hit"]


def test_response_that_renders_a_csrf_token_is_not_stored(db: None) -> None:
    def with_token(request: HttpRequest) -> HttpResponse:
        response = _shareable(request)
        get_token(request)
        return response

    assert _through_middleware(with_token) == ["miss", "miss"]


def test_private_or_varying_response_is_not_stored(db: None) -> None:
    def private(request: HttpRequest) -> HttpResponse:
        response = _shareable(request)
        response.headers["Cache-Control"] = "private"
        return response

    def varies(request: HttpRequest) -> HttpResponse:
        response = _shareable(request)
        response.headers["Vary"] = "Accept-Language"
        return response

    assert _through_middleware(private) == ["miss", "miss"]
    assert _through_middleware(varies) == ["miss", "miss"]


def test_logged_in_lesson_body_is_rendered_once_per_live_revision(tree: Tree) -> None:
    learner = User.objects.create_user("ada", "ada@example.com", "pw-ada-123")
    services.enrollment_request(user=learner, course=tree.python)
    member = logged_in(learner)
    assert "Text of Variables." in member.get("/courses/python-basics/variables/").content.decode()
    lesson = LessonPage.objects.get(pk=tree.lessons[0].pk)
    lesson.body = [{"type": "paragraph", "value": "<p>Rewritten text.</p>"}]
    lesson.save_revision().publish()
    html = member.get("/courses/python-basics/variables/").content.decode()
    assert "Rewritten text." in html and "Text of Variables." not in html


# --- One render per entry: concurrent misses wait for the render in flight ---------------------


class CountingView:
    """A shareable page that counts its renders; the first render waits for ``release``."""

    def __init__(self, *, shareable: bool = True, fails: bool = False, hold_seconds: float = 30) -> None:
        self.renders = 0
        self.lock = threading.Lock()
        self.entered = threading.Event()
        self.release = threading.Event()
        self.shareable = shareable
        self.fails = fails
        self.hold_seconds = hold_seconds

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.renders += 1
            first = self.renders == 1
        if first:
            self.entered.set()
            assert self.release.wait(self.hold_seconds), "the test never released the first render"
            if self.fails:
                raise RuntimeError("the first render fails")
        response = _shareable(request)
        if not self.shareable:
            response.set_cookie("seen", "1")
        return response


def _concurrent_misses(view: CountingView, followers: int) -> list[tuple[str | None, int]]:
    """One request starts rendering; ``followers`` more ask for the same page while it renders."""
    middleware = pagecache.AnonymousPageCacheMiddleware(view)
    results: list[tuple[str | None, int]] = []

    def visit() -> None:
        try:
            response = middleware(RequestFactory().get("/courses/"))
            results.append((response.headers.get(CACHE), response.status_code))
        except RuntimeError:
            results.append(("raised", 500))

    leader = threading.Thread(target=visit)
    leader.start()
    assert view.entered.wait(30)
    others = [threading.Thread(target=visit) for _ in range(followers)]
    for thread in others:
        thread.start()
    time.sleep(0.2)  # let them find the render in flight (a slower machine only proves less)
    view.release.set()
    for thread in [leader, *others]:
        thread.join(60)
    return results


def test_concurrent_misses_of_one_page_render_it_once(db: None, settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE_FILL_WAIT = 30
    view = CountingView()
    results = _concurrent_misses(view, followers=4)
    assert view.renders == 1
    assert sorted(results) == [("hit", 200)] * 4 + [("miss", 200)]
    assert _fill_marker_of("/courses/") is None


def test_waiters_render_their_own_when_the_first_response_is_not_shareable(db: None, settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE_FILL_WAIT = 30
    view = CountingView(shareable=False)
    results = _concurrent_misses(view, followers=3)
    assert view.renders == 4
    assert sorted(results) == [("miss", 200)] * 4
    assert _fill_marker_of("/courses/") == "not-stored"


def test_a_page_that_was_not_stored_is_rendered_without_waiting(
    db: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Visitors of a page that is never stored (a form with a CSRF token, a 404) do not queue
    behind each other's renders: after one render stored nothing, nobody waits for a while."""
    settings.ACADEMY_PAGE_CACHE_FILL_WAIT = 600
    monkeypatch.setattr(pagecache, "FILL_MARKER_SECONDS", 600)  # a wait would outlast the test
    unblocked = CountingView(shareable=False)
    unblocked.release.set()
    first = pagecache.AnonymousPageCacheMiddleware(unblocked)(RequestFactory().get("/courses/"))
    assert first.headers.get(CACHE) == "miss"

    view = CountingView(shareable=False, hold_seconds=600)
    middleware = pagecache.AnonymousPageCacheMiddleware(view)
    held = threading.Thread(target=lambda: middleware(RequestFactory().get("/courses/")))
    held.start()
    assert view.entered.wait(30)
    others = [threading.Thread(target=lambda: middleware(RequestFactory().get("/courses/"))) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(60)
    # They rendered while the first render is still held (waiting would take 600 s).
    finished = [not thread.is_alive() for thread in others]
    view.release.set()
    held.join(60)
    assert finished == [True, True, True]
    assert view.renders == 4


def test_waiters_render_their_own_when_the_first_render_fails(db: None, settings: Any) -> None:
    settings.ACADEMY_PAGE_CACHE_FILL_WAIT = 30
    view = CountingView(fails=True)
    results = _concurrent_misses(view, followers=2)
    served = sorted(results)[:2]
    assert sorted(results)[2] == ("raised", 500)
    # The waiters stop waiting and render; one may find the other's entry by then.
    assert {state for state, _status in served} <= {"miss", "hit"} and {status for _state, status in served} == {200}
    assert view.renders == 1 + sum(state == "miss" for state, _status in served)
    assert _fill_marker_of("/courses/") == "not-stored"


def _fill_marker_of(path: str) -> Any:
    from django.core.cache import cache

    request = RequestFactory().get(path)
    key, _cached = pagecache._lookup(request, request.get_host())
    assert key is not None
    return cache.get(pagecache._fill_key(key))
