"""The access matrix: 9 kinds of user x 6 kinds of course x 9 doors = 486 exact outcomes.

Each door's table is written out in full (columns in ``COURSES`` order: open, paid, login,
group, password, draft) and compared with what the real door answers, whole table at once, so a
failure shows every cell that moved. Nobody in the matrix has entered the password course's
password; ``test_password_once_entered_opens_every_door`` covers that session.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from wagtail.models import PageViewRestriction

from tests.learning.access_world import COURSES, PASSWORD, USERS, World, build_world
from tests.realtime.support import communicator, run

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}
REPORT = "/admin/learning/courseprogressreport/"


def table(rows: str) -> dict[str, tuple[str, ...]]:
    """A door's expected outcomes from its written grid (one line per user)."""
    result = {}
    for line in rows.strip().splitlines():
        user, *cells = line.split()
        result[user] = tuple(cells)
    assert tuple(result) == USERS and all(len(cells) == len(COURSES) for cells in result.values())
    return result


def measure(world: World, outcome: Any) -> dict[str, tuple[str, ...]]:
    """``outcome(world, role, kind)`` for every cell."""
    return {role: tuple(outcome(world, role, kind) for kind in COURSES) for role in USERS}


@pytest.fixture
def world(db: None, django_capture_on_commit_callbacks: Any) -> World:
    """The matrix world (see tests/learning/access_world.py), with the work Wagtail leaves for
    after commit (reference and search index updates) done."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_world()


# --- Course page ----------------------------------------------------------------------------------

COURSE_PAGE = table("""
anonymous    page page login login password 404
learner      page page page  login password 404
pending      page page page  login password 404
active       page page page  login password 404
cancelled    page page page  login password 404
member       page page page  page  password 404
other_group  page page page  login password 404
editor       page page page  login password 404
superuser    page page page  page  password 404
""")


def page_outcome(response: Any, marker: str) -> str:
    """page / login / password / 404 for a page response."""
    if response.status_code == 302:
        return "login"
    if response.status_code == 404:
        return "404"
    html = response.content.decode()
    if 'name="password"' in html:
        return "password"
    assert response.status_code == 200 and marker in html
    return "page"


def test_course_page_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        response = world.client(role).get(f"/courses/{kind}-course/")
        return page_outcome(response, "data-course-page")

    assert measure(world, outcome) == COURSE_PAGE


# --- Lesson page ----------------------------------------------------------------------------------

LESSON_PAGE = table("""
anonymous    locked locked login  login password 404
learner      locked locked locked login password 404
pending      locked locked locked login password 404
active       body   body   body   login password 404
cancelled    locked locked locked login password 404
member       body   body   body   body  password 404
other_group  body   body   body   login password 404
editor       body   body   body   login password 404
superuser    body   body   body   body  password 404
""")


def test_lesson_page_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        response = world.client(role).get(f"/courses/{kind}-course/{kind}-lesson/")
        shown = page_outcome(response, "data-lesson-page")
        if shown != "page":
            return shown
        return "body" if world.courses[kind].body_word in response.content.decode() else "locked"

    assert measure(world, outcome) == LESSON_PAGE


# --- Enroll form post -----------------------------------------------------------------------------

ENROLL_POST = table("""
anonymous    login login login login login login
learner      ok    ok    ok    403   403   404
pending      ok    ok    ok    403   403   404
active       ok    ok    ok    403   403   404
cancelled    ok    ok    ok    403   403   404
member       ok    ok    ok    ok    403   404
other_group  ok    ok    ok    403   403   404
editor       ok    ok    ok    403   403   404
superuser    ok    ok    ok    ok    403   404
""")


def form_outcome(response: Any) -> str:
    """login (redirect to the login page) / ok (redirect on) / the error page's status."""
    if response.status_code == 302:
        return "login" if response["Location"].startswith("/accounts/login/") else "ok"
    return str(response.status_code)


def test_enroll_post_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        return form_outcome(world.client(role).post("/learning/enroll/", {"course_id": world.courses[kind].page.pk}))

    assert measure(world, outcome) == ENROLL_POST


# --- Progress form post ---------------------------------------------------------------------------

PROGRESS_POST = table("""
anonymous    login login login login login login
learner      403   403   403   403   403   404
pending      403   403   403   403   403   404
active       ok    ok    ok    403   403   404
cancelled    403   403   403   403   403   404
member       ok    ok    ok    ok    403   404
other_group  ok    ok    ok    403   403   404
editor       403   403   403   403   403   404
superuser    403   403   403   403   403   404
""")


def test_progress_post_follows_the_policy(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        return form_outcome(world.client(role).post("/learning/progress/", {"lesson_id": world.courses[kind].lesson.pk}))

    assert measure(world, outcome) == PROGRESS_POST


# --- Dashboard ------------------------------------------------------------------------------------

DASHBOARD = table("""
anonymous    login   login   login   login   login   login
learner      none    none    none    none    none    none
pending      none    none    none    none    none    none
active       lessons lessons lessons none    none    none
cancelled    none    none    none    none    none    none
member       lessons lessons lessons lessons none    none
other_group  lessons lessons lessons none    none    none
editor       none    none    none    none    none    none
superuser    none    none    none    none    none    none
""")


def test_dashboard_lists_lesson_titles_only_where_the_policy_allows(world: World) -> None:
    pages: dict[str, Any] = {role: world.client(role).get("/dashboard/") for role in USERS}

    def outcome(world: World, role: str, kind: str) -> str:
        response = pages[role]
        if response.status_code == 302:
            return "login"
        return "lessons" if f"{kind.title()} lesson" in response.content.decode() else "none"

    assert measure(world, outcome) == DASHBOARD


# --- WebSocket course stream ----------------------------------------------------------------------

COURSE_STREAM = table("""
anonymous    4401 4401 4401 4401 4401 4401
learner      4403 4403 4403 4403 4403 4404
pending      4403 4403 4403 4403 4403 4404
active       open open open 4403 4403 4404
cancelled    4403 4403 4403 4403 4403 4404
member       open open open open 4403 4404
other_group  open open open 4403 4403 4404
editor       open open open 4403 4403 4404
superuser    open open open open 4403 4404
""")


def test_course_stream_follows_the_policy(transactional_db: None, settings: Any) -> None:
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    world = build_world()
    sessions = {
        role: (world.client(role).cookies["sessionid"].value if world.users[role] is not None else None)
        for role in USERS
    }
    measured: dict[str, list[str]] = {role: [] for role in USERS}

    async def scenario() -> None:
        for role in USERS:
            for kind in COURSES:
                comm = communicator(f"/ws/courses/{world.courses[kind].page.pk}/", sessions[role])
                connected, _ = await comm.connect()
                assert connected
                await comm.send_json_to({"type": "ping"})
                output = await comm.receive_output(timeout=30)
                if output["type"] == "websocket.close":
                    measured[role].append(str(output["code"]))
                else:
                    assert output == {"type": "websocket.send", "text": '{"type":"pong"}'}
                    measured[role].append("open")
                await comm.disconnect()

    run(scenario)
    assert {role: tuple(cells) for role, cells in measured.items()} == COURSE_STREAM


# --- Catalog search -------------------------------------------------------------------------------

SEARCH = table("""
anonymous    miss miss miss miss miss miss
learner      miss miss miss miss miss miss
pending      miss miss miss miss miss miss
active       hit  hit  miss miss miss miss
cancelled    miss miss miss miss miss miss
member       hit  hit  miss miss miss miss
other_group  hit  hit  miss miss miss miss
editor       hit  hit  miss miss miss miss
superuser    hit  hit  miss miss miss miss
""")


def test_search_matches_lesson_bodies_only_for_readers(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        response = world.client(role).get("/courses/", {"q": world.courses[kind].body_word})
        assert response.status_code == 200
        titles = [course.title for course in response.context["courses_page"].object_list]
        assert titles in ([], [f"{kind.title()} course"])
        return "hit" if titles else "miss"

    assert measure(world, outcome) == SEARCH


# --- Document download ----------------------------------------------------------------------------

DOCUMENT = table("""
anonymous    login login login login login login
learner      403   403   403   403   403   403
pending      403   403   403   403   403   403
active       file  file  file  403   403   403
cancelled    403   403   403   403   403   403
member       file  file  file  file  403   403
other_group  file  file  file  403   403   403
editor       file  file  file  403   403   file
superuser    file  file  file  file  403   file
""")


def test_document_download_follows_its_lesson(world: World) -> None:
    def outcome(world: World, role: str, kind: str) -> str:
        document = world.courses[kind].document
        response = world.client(role).get(document.url)
        if response.status_code == 200:
            assert b"".join(response.streaming_content) == f"{kind} answers".encode()
            return "file"
        return "login" if response.status_code == 302 else str(response.status_code)

    assert measure(world, outcome) == DOCUMENT


# --- Progress report CSV export -------------------------------------------------------------------

CSV_EXPORT = table("""
anonymous    refused refused refused refused refused refused
learner      refused refused refused refused refused refused
pending      refused refused refused refused refused refused
active       refused refused refused refused refused refused
cancelled    refused refused refused refused refused refused
member       refused refused refused refused refused refused
other_group  refused refused refused refused refused refused
editor       rows    rows    rows    none    none    rows
superuser    rows    rows    rows    rows    rows    rows
""")


def test_csv_export_lists_only_courses_the_user_may_see(world: World) -> None:
    exports: dict[str, Any] = {}
    for role in USERS:
        response = world.client(role).get(REPORT, {"export": "csv"})
        exports[role] = (
            list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
            if response.status_code == 200 else None
        )

    def outcome(world: World, role: str, kind: str) -> str:
        rows = exports[role]
        if rows is None:
            return "refused"
        courses = [row[2] for row in rows[1:]]
        return "rows" if courses.count(f"{kind.title()} course") == 5 else "none"

    assert measure(world, outcome) == CSV_EXPORT


def test_matrix_size() -> None:
    doors = [COURSE_PAGE, LESSON_PAGE, ENROLL_POST, PROGRESS_POST, DASHBOARD, COURSE_STREAM, SEARCH, DOCUMENT, CSV_EXPORT]
    assert sum(len(cells) for door in doors for cells in door.values()) == 9 * 6 * 9 == 486


# --- A passed password opens the doors for that session only --------------------------------------


def test_password_once_entered_opens_every_door(world: World) -> None:
    course = world.courses["password"]
    restriction = course.restriction
    assert isinstance(restriction, PageViewRestriction)
    client = world.client("active")
    response = client.post(
        f"/_util/authenticate_with_password/{restriction.pk}/{course.page.pk}/",
        {"password": PASSWORD, "return_url": "/courses/password-course/"},
    )
    assert (response.status_code, response["Location"]) == (302, "/courses/password-course/")
    lesson = client.get("/courses/password-course/password-lesson/")
    assert course.body_word in lesson.content.decode()
    assert "Password lesson" in client.get("/dashboard/").content.decode()
    assert client.post("/learning/enroll/", {"course_id": course.page.pk}).status_code == 302
    assert client.post("/learning/progress/", {"lesson_id": course.lesson.pk}).status_code == 302
    # The API in the same browser session follows the session too.
    assert client.post("/api/v1/progress/", {"lesson_id": course.lesson.pk}, content_type="application/json").status_code == 200
    assert client.get(course.document.url).status_code == 200
    # Another session of the same learner has not entered it.
    other = Client()
    other.force_login(world.users["active"])
    assert other.get(course.document.url).status_code == 403
    assert other.post("/learning/progress/", {"lesson_id": course.lesson.pk}).status_code == 403
    assert other.post("/api/v1/progress/", {"lesson_id": course.lesson.pk}, content_type="application/json").status_code == 403


# --- Not yet open (drip release) ------------------------------------------------------------------

# The open course's lesson opens two days after each learner's start (everyone enrolled just now):
# every door of that lesson, per user. Columns: lesson page, progress post, document, search, API.
NOT_YET_OPEN_DOORS = ("page", "progress", "document", "search", "api")
NOT_YET_OPEN = {
    "anonymous":   ("locked",   "login", "login", "miss", "locked"),
    "learner":     ("locked",   "403",   "403",   "miss", "locked"),
    "pending":     ("locked",   "403",   "403",   "miss", "locked"),
    "active":      ("not_open", "403",   "403",   "miss", "not_open"),
    "cancelled":   ("locked",   "403",   "403",   "miss", "locked"),
    "member":      ("not_open", "403",   "403",   "miss", "not_open"),
    "other_group": ("not_open", "403",   "403",   "miss", "not_open"),
    "editor":      ("body",     "403",   "file",  "hit",  "body"),
    "superuser":   ("body",     "403",   "file",  "hit",  "body"),
}


def test_not_yet_open_is_answered_at_every_door(world: World) -> None:
    from courses import routing
    from courses.models import LessonPage, ReleaseRule

    course = world.courses["open"]
    LessonPage.objects.filter(pk=course.lesson.pk).update(release_rule=ReleaseRule.AFTER_START, release_days=2)
    routing.forget_tree()  # the course's date rules are cached with the page tree

    def outcome(role: str) -> tuple[str, ...]:
        client = world.client(role)
        page = client.get("/courses/open-course/open-lesson/").content.decode()
        shown = (
            "body" if course.body_word in page
            else "not_open" if 'data-lesson-state="not-open"' in page else "locked"
        )
        progress = form_outcome(client.post("/learning/progress/", {"lesson_id": course.lesson.pk}))
        document = client.get(course.document.url)
        file = "file" if document.status_code == 200 else "login" if document.status_code == 302 else str(document.status_code)
        found = client.get("/courses/", {"q": course.body_word}).context["courses_page"].object_list
        api = client.get(f"/api/v1/lessons/{course.lesson.pk}/")
        api_outcome = (
            "not_open" if api.status_code == 403 and api.json()["error"]["code"] == "lesson_not_open"
            else "body" if api.status_code == 200 and api.json()["body_html"] else "locked"
        )
        return (shown, progress, file, "hit" if found else "miss", api_outcome)

    assert {role: outcome(role) for role in USERS} == NOT_YET_OPEN
