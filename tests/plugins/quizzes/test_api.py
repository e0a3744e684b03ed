"""The quizzes API (/api/v1/p/quizzes/): a mobile app takes a quiz with a token, through the
same services and rules as the quiz page."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from academy.plugins.activation import set_state
from courses.models import ReleaseRule
from learning.models import Enrollment, LessonProgress
from plugins.quizzes.models import QuizAttempt, QuizLessonPage
from tests.courses.helpers import Tree
from tests.learning.api.conftest import token_client
from tests.learning.conftest import make_user
from tests.plugins.quizzes.helpers import RIGHT, SECRETS, WRONG, make_quiz

pytestmark = pytest.mark.django_db
BASE = "/api/v1/p/quizzes"


def _put(client: Any, url: str, body: Any) -> Any:
    return client.put(url, json.dumps(body), content_type="application/json")


def test_a_learner_takes_a_quiz_start_save_submit(enrolled: Any, quiz: QuizLessonPage, tree: Tree) -> None:
    client = token_client(enrolled)
    about = client.get(f"{BASE}/{quiz.pk}/")
    assert about.status_code == 200, about.content
    assert about.json()["can_start"] is True and about.json()["attempts_used"] == 0
    assert about.json()["url"].startswith("http://testserver/")

    started = client.post(f"{BASE}/{quiz.pk}/attempts/")
    assert started.status_code == 201
    attempt = started.json()
    assert attempt["status"] == "open" and [q["id"] for q in attempt["questions"]] == list(RIGHT)
    assert not any(secret in started.content.decode() for secret in SECRETS)
    assert client.post(f"{BASE}/{quiz.pk}/attempts/").status_code == 200  # the open one back

    saved = _put(client, f"{BASE}/attempts/{attempt['id']}/answers/", {"answers": {"q-single": "c-paris", "q-short": None}})
    assert saved.status_code == 200 and saved.json()["answers"] == {"q-single": "c-paris"}
    resumed = client.get(f"{BASE}/attempts/{attempt['id']}/").json()
    assert resumed["answers"] == {"q-single": "c-paris"} and resumed["results"] == []

    submitted = client.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": RIGHT}, format="json")
    assert submitted.status_code == 200, submitted.content
    body = submitted.json()
    assert body["status"] == "submitted" and body["passed"] is True and body["percent"] == 100
    assert body["progress"]["completed_lessons"] == 1 and body["questions"] == []
    assert {result["id"] for result in body["results"]} == set(RIGHT)
    assert LessonProgress.objects.filter(user=enrolled, lesson_id=quiz.pk, completed_at__isnull=False).exists()
    after = client.get(f"{BASE}/{quiz.pk}/").json()
    assert after["passed"] is True and after["best_percent"] == 100 and after["open_attempt_id"] is None


def test_a_failed_attempt_has_no_progress_and_a_replay_is_a_409(enrolled: Any, quiz: QuizLessonPage) -> None:
    client = token_client(enrolled)
    attempt = client.post(f"{BASE}/{quiz.pk}/attempts/").json()
    failed = client.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": WRONG}, format="json")
    assert failed.status_code == 200 and failed.json()["passed"] is False and failed.json()["progress"] is None
    again = client.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": RIGHT}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "attempt_already_submitted"
    late_save = _put(client, f"{BASE}/attempts/{attempt['id']}/answers/", {"answers": {}})
    assert late_save.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {"q-single": "c-nope"}}, "answers"),
        ({"answers": {"unknown": "x"}}, "answers"),
        ({"answers": "c-paris"}, "answers"),
        ({"answers": {}, "score": 100}, "score"),
    ],
)
def test_bad_answers_are_a_400_and_nothing_is_written(
    enrolled: Any, quiz: QuizLessonPage, body: dict[str, Any], field: str
) -> None:
    client = token_client(enrolled)
    attempt = client.post(f"{BASE}/{quiz.pk}/attempts/").json()
    for response in (
        _put(client, f"{BASE}/attempts/{attempt['id']}/answers/", body),
        client.post(f"{BASE}/attempts/{attempt['id']}/submit/", body, format="json"),
    ):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["fields"]
    stored = QuizAttempt.objects.get(pk=attempt["id"])
    assert stored.answers == {} and stored.submitted_at is None


def test_who_may_do_what(tree: Tree, quiz: QuizLessonPage, enrolled: Any) -> None:
    stranger = token_client(make_user("zed"))
    assert stranger.get(f"{BASE}/{quiz.pk}/").json()["can_start"] is False
    refused = stranger.post(f"{BASE}/{quiz.pk}/attempts/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_enrolled"
    attempt = token_client(enrolled).post(f"{BASE}/{quiz.pk}/attempts/").json()
    # Someone else's attempt does not exist for the caller, whatever the method.
    assert stranger.get(f"{BASE}/attempts/{attempt['id']}/").status_code == 404
    assert stranger.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": RIGHT}, format="json").status_code == 404
    assert token_client(enrolled).get(f"{BASE}/{tree.lessons[0].pk}/").status_code == 404  # not a quiz
    assert token_client(enrolled).get(f"{BASE}/{2**63}/").status_code == 404  # past bigint
    anonymous = token_client(enrolled).__class__()
    assert anonymous.get(f"{BASE}/{quiz.pk}/").status_code == 401
    set_state("quizzes", "off", course_id=tree.python.pk)
    off = token_client(enrolled).post(f"{BASE}/{quiz.pk}/attempts/")
    assert off.status_code == 404 and off.json()["error"]["code"] == "lesson_not_available"


def test_a_quiz_not_yet_open_is_refused_as_core_refuses_a_lesson(enrolled: Any, tree: Tree) -> None:
    """Drip release: before the quiz opens to the learner, reading it, starting, saving answers
    and submitting are each 403 ``lesson_not_open`` with ``opens_at``, the code and shape of
    core's ``lessons/{id}/``; nothing is written. On the day, everything works."""
    quiz = make_quiz(tree.python, "Week quiz", slug="week-quiz", release_rule=ReleaseRule.AFTER_START, release_days=2)
    enrollment = Enrollment.objects.get(user=enrolled, course=tree.python)
    client = token_client(enrolled)
    core = client.get(f"/api/v1/lessons/{quiz.pk}/")
    opens = (enrollment.activated_at + timedelta(days=2)).isoformat()
    assert (core.status_code, core.json()["error"]["code"], core.json()["error"]["opens_at"]) == (403, "lesson_not_open", opens)

    def refused(response: Any) -> None:
        assert response.status_code == 403, response.content
        assert {key: response.json()["error"][key] for key in ("code", "opens_at", "after_lesson_id")} == {
            "code": "lesson_not_open", "opens_at": opens, "after_lesson_id": None,
        }

    refused(client.get(f"{BASE}/{quiz.pk}/"))
    refused(client.post(f"{BASE}/{quiz.pk}/attempts/"))
    assert not QuizAttempt.objects.exists()
    # An attempt started while it was open (the learner's start moved later since): closed too.
    Enrollment.objects.filter(pk=enrollment.pk).update(activated_at=timezone.now() - timedelta(days=3))
    attempt = client.post(f"{BASE}/{quiz.pk}/attempts/").json()
    Enrollment.objects.filter(pk=enrollment.pk).update(activated_at=enrollment.activated_at)
    refused(_put(client, f"{BASE}/attempts/{attempt['id']}/answers/", {"answers": {"q-single": "c-paris"}}))
    refused(client.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": RIGHT}, format="json"))
    saved = QuizAttempt.objects.get(pk=attempt["id"])
    assert (saved.answers or {}, saved.submitted_at) == ({}, None)
    assert not LessonProgress.objects.filter(user=enrolled, lesson_id=quiz.pk).exists()
    Enrollment.objects.filter(pk=enrollment.pk).update(activated_at=timezone.now() - timedelta(days=3))
    assert client.get(f"{BASE}/{quiz.pk}/").json()["can_start"] is False  # its attempt is open
    done = client.post(f"{BASE}/attempts/{attempt['id']}/submit/", {"answers": RIGHT}, format="json")
    assert (done.status_code, done.json()["passed"]) == (200, True)
