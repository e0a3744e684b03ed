"""The access matrix across lesson kinds: every installed lesson kind (core's lesson and every
plugin's, from the lesson-kind registry) x 12 doors x 7 viewers (staff scopes included).

Each door answers one of three questions of the access policy (``learning.access``):
*may read this lesson* (page body, API lesson body, document, catalog search, course stream and
its replay, the replay of the learner's own progress stream), *may record progress here* (form post, API post, dashboard) and *may see this
course's learners* (CSV export, live class stream). For every cell the door's answer is compared
with the policy's own answer, and the policy's answers are written out per viewer: a lesson kind
that some door treats differently (issue 19, finding 2: documents of quiz lessons) shows as a
difference. Staff actions of the API (approve, cancel, read an enrollment) are the ``api``
slice's matrix (tests/learning/api).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from courses.lesson_kinds import lesson_kinds
from learning import access
from realtime import groups
from realtime.publish import publish
from tests.learning.access_world import (
    KIND_VIEWERS,
    KindCourse,
    KindsWorld,
    build_kinds_world,
    kind_builders,
)
from tests.realtime.support import communicator, run

MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100}}}
REPORT = "/admin/learning/courseprogressreport/"
READ_DOORS = ("page", "api_lesson", "document", "search", "course_stream", "course_replay", "progress_replay")
RECORD_DOORS = ("dashboard", "progress_post", "api_progress")
LEARNERS_DOORS = ("csv_export", "staff_stream")
DOORS = READ_DOORS + RECORD_DOORS + LEARNERS_DOORS
# The policy's answers, per viewer, the same for every lesson kind: (read, record, see learners).
POLICY = {
    "anonymous": (False, False, False),
    "learner": (False, False, False),
    "pending": (False, False, False),
    "active": (True, True, False),
    "editor_here": (True, False, True),
    "editor_other": (True, False, False),  # reads lessons like any editor; not this course's learners
    "superuser": (True, False, True),
}


def policy_answers(world: KindsWorld, role: str, course: KindCourse) -> dict[str, bool]:
    """What ``learning.access`` answers for ``role`` in ``course``, per door."""
    who = access.viewer(world.users[role] or AnonymousUser())
    verdict = access.lesson_access(who, course.lesson, course_id=course.page.pk)
    learners = access.may_see_learners(who, course.page)
    answers = {door: verdict.can_read for door in READ_DOORS}
    answers.update({door: verdict.can_record_progress for door in RECORD_DOORS})
    answers.update({door: learners for door in LEARNERS_DOORS})
    return answers


def http_answers(world: KindsWorld, role: str, course: KindCourse) -> dict[str, bool]:
    """What the HTTP doors answer for ``role`` in ``course`` (reads first, then the writes)."""
    client = world.client(role)
    answers: dict[str, bool] = {}
    page = client.get(course.lesson.url)
    answers["page"] = page.status_code == 200 and course.body_word in page.content.decode()
    api = client.get(f"/api/v1/lessons/{course.lesson.pk}/")
    answers["api_lesson"] = api.status_code == 200 and api.json()["locked"] is False and api.json()["body_html"] is not None
    document = client.get(course.document.url)
    answers["document"] = document.status_code == 200 and b"".join(document.streaming_content) == f"{course.kind} answers".encode()
    search = client.get("/courses/", {"q": course.body_word})
    assert search.status_code == 200
    titles = [found.title for found in search.context["courses_page"].object_list]
    assert titles in ([], [course.page.title])
    answers["search"] = bool(titles)
    dashboard = client.get("/dashboard/")
    answers["dashboard"] = dashboard.status_code == 200 and course.lesson.title in dashboard.content.decode()
    export = client.get(REPORT, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode()))) if export.status_code == 200 else []
    answers["csv_export"] = any(row[2] == course.page.title for row in rows[1:])
    post = client.post("/learning/progress/", {"lesson_id": course.lesson.pk, "completed": "0"})
    answers["progress_post"] = post.status_code == 302 and not post["Location"].startswith("/accounts/login/")
    api_post = client.post(
        "/api/v1/progress/", {"lesson_id": course.lesson.pk, "completed": False}, content_type="application/json"
    )
    answers["api_progress"] = api_post.status_code == 200
    return answers


async def _opens(path: str, session: str | None) -> bool:
    comm = communicator(path, session)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "ping"})
    output = await comm.receive_output(timeout=30)
    await comm.disconnect()
    return output["type"] != "websocket.close"


async def _replays(path: str, session: str | None, event_id: int) -> bool:
    comm = communicator(path, session)
    await comm.connect()
    await comm.send_json_to({"type": "resume", "since": event_id - 1})
    ids: list[int] = []
    while True:
        output = await comm.receive_output(timeout=30)
        if output["type"] == "websocket.close":
            break
        frame = json.loads(output["text"])
        if frame["type"] == "resumed":
            break
        ids.append(frame["id"])
    await comm.disconnect()
    return event_id in ids


@pytest.mark.django_db(transaction=True)
def test_every_lesson_kind_gets_the_same_answer_at_every_door(settings: Any) -> None:
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    world = build_kinds_world()
    assert set(kind_builders()) == set(lesson_kinds())  # every installed kind is in the matrix
    assert [course.kind for course in world.courses] == ["lessonpage", "quizlessonpage"]
    events = {
        course.page.pk: publish(
            group=groups.course(course.page.pk), event_type="course.updated", data={"course_id": course.page.pk}
        ).pk
        for course in world.courses
    }
    progress_events = {
        (course.page.pk, role): publish(
            group=groups.user_progress(world.users[role].pk), event_type="progress.updated",
            data={"course_id": course.page.pk},
        ).pk
        for course in world.courses
        for role in KIND_VIEWERS
        if world.users[role] is not None
    }
    sessions = {
        role: world.client(role).cookies["sessionid"].value if world.users[role] is not None else None
        for role in KIND_VIEWERS
    }
    measured: dict[tuple[str, str], dict[str, bool]] = {}
    expected: dict[tuple[str, str], dict[str, bool]] = {}
    for course in world.courses:
        for role in KIND_VIEWERS:
            expected[course.kind, role] = policy_answers(world, role, course)
            measured[course.kind, role] = http_answers(world, role, course)

    async def sockets() -> None:
        for course in world.courses:
            for role in KIND_VIEWERS:
                cell = measured[course.kind, role]
                cell["course_stream"] = await _opens(f"/ws/courses/{course.page.pk}/", sessions[role])
                cell["course_replay"] = await _replays(
                    f"/ws/courses/{course.page.pk}/", sessions[role], events[course.page.pk]
                )
                cell["progress_replay"] = await _replays(
                    "/ws/progress/", sessions[role], progress_events.get((course.page.pk, role), 1)
                )
                cell["staff_stream"] = await _opens(f"/ws/staff/courses/{course.page.pk}/", sessions[role])

    run(sockets)
    written = {
        (course.kind, role): {
            **{door: POLICY[role][0] for door in READ_DOORS},
            **{door: POLICY[role][1] for door in RECORD_DOORS},
            **{door: POLICY[role][2] for door in LEARNERS_DOORS},
        }
        for course in world.courses
        for role in KIND_VIEWERS
    }
    assert expected == written
    differences = [
        (kind, role, door, measured[kind, role][door])
        for (kind, role), answers in expected.items()
        for door in DOORS
        if measured[kind, role][door] != answers[door]
    ]
    assert differences == []
    cells = sum(len(answers) for answers in measured.values())
    assert cells == len(lesson_kinds()) * len(KIND_VIEWERS) * len(DOORS) == 2 * 7 * 12 == 168
