"""What an app or an integration relies on beyond the resources: unknown body fields refused,
absolute links, the lesson kind, conditional reads (ETag), CORS by configuration, and a schema
whose enums stay open in responses."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client, override_settings
from rest_framework.test import APIClient

from learning.models import Enrollment, LessonProgress
from plugins.quizzes.models import QuizLessonPage
from tests.courses.helpers import Tree
from tests.learning.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_unknown_body_field_is_refused_and_nothing_written(tree: Tree, learner: Any, staff: Any) -> None:
    client = token_client(staff)
    response = client.post("/api/v1/enrollments/", {"course_id": tree.python.pk, "user_id": learner.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"user_id": ["Unknown field."]}
    assert Enrollment.objects.count() == 0

    mine = token_client(learner)
    assert mine.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json").status_code == 201
    response = mine.post(
        "/api/v1/progress/", {"lesson_id": tree.lessons[0].pk, "completed": True, "score": 100}, format="json"
    )
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"score": ["Unknown field."]})
    assert LessonProgress.objects.count() == 0
    response = mine.post("/api/v1/notifications/read/", {"ids": [1], "all": True}, format="json")
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"all": ["Unknown field."]})


def test_links_are_absolute_and_lessons_carry_their_kind(tree: Tree, learner: Any) -> None:
    quiz = QuizLessonPage(title="Check", slug="check", questions=[], pass_mark=50)
    tree.python.add_child(instance=quiz)
    client = token_client(learner)
    client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json")

    course = client.get(f"/api/v1/courses/{tree.python.pk}/").json()
    assert course["url"] == "http://testserver/courses/python-basics/"
    assert [(row["kind"], row["url"]) for row in course["lessons"]] == [
        ("lesson", "http://testserver/courses/python-basics/variables/"),
        ("lesson", "http://testserver/courses/python-basics/functions/"),
        ("lesson", "http://testserver/courses/python-basics/modules/"),
        ("quizzes.quiz", "http://testserver/courses/python-basics/check/"),
    ]
    enrollment = client.get("/api/v1/enrollments/").json()["results"][0]
    assert enrollment["course"]["url"] == "http://testserver/courses/python-basics/"
    assert enrollment["next_lesson"]["url"] == "http://testserver/courses/python-basics/variables/"
    assert client.get(f"/api/v1/lessons/{quiz.pk}/").json()["kind"] == "quizzes.quiz"


def test_reads_answer_not_modified_to_a_matching_etag(tree: Tree, learner: Any) -> None:
    client = token_client(learner)
    first = client.get("/api/v1/courses/")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')

    again = client.get("/api/v1/courses/", HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)

    client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json")
    changed = client.get("/api/v1/courses/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    # Writes carry no ETag and ignore If-None-Match.
    write = client.post("/api/v1/enrollments/", {"course_id": tree.python.pk}, format="json", HTTP_IF_NONE_MATCH="*")
    assert write.status_code == 200 and not write.has_header("ETag")


APP = "https://app.example.com"


def _preflight(path: str) -> Any:
    return Client().options(
        path, HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_cors_is_off_unless_the_origin_is_configured(tree: Tree) -> None:
    assert not _preflight("/api/v1/courses/").has_header("Access-Control-Allow-Origin")
    with override_settings(CORS_ALLOWED_ORIGINS=[APP]):
        allowed = _preflight("/api/v1/enrollments/")
        assert allowed["Access-Control-Allow-Origin"] == APP
        assert "authorization" in allowed["Access-Control-Allow-Headers"]
        assert not allowed.has_header("Access-Control-Allow-Credentials")
        read = APIClient().get("/api/v1/courses/", HTTP_ORIGIN=APP)
        assert read["Access-Control-Allow-Origin"] == APP
        assert "etag" in read["Access-Control-Expose-Headers"]
        # Pages are never cross-origin readable; other origins get nothing.
        assert not Client().get("/courses/", HTTP_ORIGIN=APP).has_header("Access-Control-Allow-Origin")
        other = APIClient().get("/api/v1/courses/", HTTP_ORIGIN="https://evil.example")
        assert not other.has_header("Access-Control-Allow-Origin")


def test_schema_enums_are_open_in_responses_and_closed_in_requests(tree: Tree) -> None:
    schema = yaml.safe_load(Client().get("/api/schema/").content)
    schemas = schema["components"]["schemas"]
    kind = schemas["Notification"]["properties"]["kind"]
    assert kind["anyOf"][0] == {"$ref": "#/components/schemas/KindEnum"}
    assert kind["anyOf"][1]["type"] == "string"
    assert schemas["Enrollment"]["properties"]["status"]["anyOf"][0] == {"$ref": "#/components/schemas/StatusEnum"}
    levels = [p for p in schema["paths"]["/api/v1/courses/"]["get"]["parameters"] if p["name"] == "level"]
    assert "enum" in levels[0]["schema"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"405", "500"} <= set(operation["responses"]), (path, method)
