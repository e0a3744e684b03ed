"""The API's access matrix: 8 kinds of caller x 15 endpoints = 120 exact outcomes, and no
response to anyone but the owner carries the owner's private data.

The owner ("ada") is active in the open course (first lesson complete) and pending in the
approval course, and has two notifications; "bob" (another learner) has one. Token rows use
the owner's own tokens: without expiry, with an expiry ahead, and expired. Every cell runs in a
savepoint rolled back afterwards, so each starts from the same data. Columns in ``ENDPOINTS``
order; outcomes are ``status`` or ``status:rows`` for lists, ``body``/``locked`` for a lesson.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from learning import services, tokens
from learning.models import PersonalAccessToken
from tests.courses.helpers import Tree
from tests.learning.api.conftest import session_client

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "other", "editor", "staff", "token", "token_expiring", "token_expired")
OWNER_SECRET = "Private note for the owner"


@dataclass
class World:
    tree: Tree
    clients: dict[str, APIClient]
    ids: dict[str, int]


Endpoint = Callable[[APIClient, World], Any]


def _post(path: str, body: dict[str, Any] | None = None) -> Endpoint:
    """A POST whose body names objects of the world (``"python"``, ``["note"]``) by their key."""

    def call(client: APIClient, world: World) -> Any:
        data = {key: world.ids[value] if isinstance(value, str) else [world.ids[item] for item in value]
                for key, value in (body or {}).items()}
        return client.post(path.format(**world.ids), data, format="json")

    return call


def _get(path: str) -> Endpoint:
    return lambda client, world: client.get(path.format(**world.ids))


ENDPOINTS: dict[str, Endpoint] = {
    "courses": _get("/api/v1/courses/"),
    "course": _get("/api/v1/courses/{python}/"),
    "lessons": _get("/api/v1/lessons/"),
    "lesson": _get("/api/v1/lessons/{lesson0}/"),
    "enrollments": _get("/api/v1/enrollments/"),
    "enrollment": _get("/api/v1/enrollments/{owner_active}/"),
    "enroll": _post("/api/v1/enrollments/", {"course_id": "python"}),
    "approve": _post("/api/v1/enrollments/{owner_pending}/approve/"),
    "cancel": _post("/api/v1/enrollments/{owner_active}/cancel/"),
    "progress_list": _get("/api/v1/progress/"),
    "complete": _post("/api/v1/progress/", {"lesson_id": "lesson1"}),
    "notifications": _get("/api/v1/notifications/"),
    "mark_read": _post("/api/v1/notifications/read/", {"ids": ["note"]}),
    "read_all": _post("/api/v1/notifications/read-all/"),
    "me": _get("/api/v1/me/"),
}

EXPECTED = """
role            courses course lessons lesson enrollments enrollment enroll approve cancel progress_list complete notifications mark_read read_all  me
anonymous       200:2   200    200:4   locked 401         401        401    401     401    401           401      401           401       401       401
owner           200:2   200    200:4   body   200:2       200        200    403     200    200:1         200      200:2         200       200       200
other           200:2   200    200:4   locked 200:0       404        201    404     404    200:0         403      200:1         404       200       200
editor          200:2   200    200:4   body   200:0       404        201    404     404    200:0         403      200:0         404       200       200
staff           200:2   200    200:4   body   200:0       200        201    200     200    200:0         403      200:0         404       200       200
token           200:2   200    200:4   body   200:2       200        200    403     200    200:1         200      200:2         200       200       200
token_expiring  200:2   200    200:4   body   200:2       200        200    403     200    200:1         200      200:2         200       200       200
token_expired   401     401    401     401    401         401        401    401     401    401           401      401           401       401       401
"""


def expected() -> dict[str, dict[str, str]]:
    header, *lines = EXPECTED.strip().splitlines()
    columns = header.split()[1:]
    assert tuple(columns) == tuple(ENDPOINTS)
    table = {line.split()[0]: dict(zip(columns, line.split()[1:], strict=True)) for line in lines}
    assert tuple(table) == ROLES
    return table


def _token_client(user: Any, *, expires_in_days: int | None = None, expired: bool = False) -> APIClient:
    made = tokens.token_create(user=user, name="matrix", expires_in_days=expires_in_days)
    if expired:
        PersonalAccessToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    return client


@pytest.fixture
def world(tree: Tree, learner: Any, other_learner: Any, editor: Any, staff: Any) -> World:
    active = services.enrollment_request(user=learner, course=tree.python).enrollment
    services.lesson_progress_record(user=learner, lesson=tree.lessons[0])
    pending = services.enrollment_request(user=learner, course=tree.sql).enrollment
    note = services.notification_create(user=learner, kind="announcement", title=OWNER_SECRET)
    services.notification_create(user=learner, kind="announcement", title=f"{OWNER_SECRET} (2)")
    services.notification_create(user=other_learner, kind="announcement", title="For bob")
    clients = {
        "anonymous": APIClient(),
        "owner": session_client(learner),
        "other": session_client(other_learner),
        "editor": session_client(editor),
        "staff": session_client(staff),
        "token": _token_client(learner),
        "token_expiring": _token_client(learner, expires_in_days=30),
        "token_expired": _token_client(learner, expires_in_days=30, expired=True),
    }
    ids = {
        "python": tree.python.pk, "lesson0": tree.lessons[0].pk, "lesson1": tree.lessons[1].pk,
        "owner_active": active.pk, "owner_pending": pending.pk, "note": note.pk,
    }
    return World(tree=tree, clients=clients, ids=ids)


def outcome(name: str, response: Any) -> str:
    status = response.status_code
    body = response.json()
    if status == 200 and name == "lesson":
        return "locked" if body["locked"] else "body"
    if status == 200 and "results" in body:
        return f"200:{len(body['results'])}"
    return str(status)


def test_every_endpoint_for_every_caller(world: World) -> None:
    measured: dict[str, dict[str, str]] = {}
    leaks: list[str] = []
    for role in ROLES:
        measured[role] = {}
        for name, call in ENDPOINTS.items():
            with transaction.atomic():
                response = call(world.clients[role], world)
                transaction.set_rollback(True)
            measured[role][name] = outcome(name, response)
            if role in {"other", "editor", "staff", "anonymous"} and OWNER_SECRET in json.dumps(response.json()):
                leaks.append(f"{role} {name}")
    assert measured == expected()
    assert leaks == []
    assert sum(len(row) for row in measured.values()) == 120
