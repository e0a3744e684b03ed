"""The class scenario of ``bench.load``: learners made in bulk log in and complete lessons like
real ones, and a round's plan is shared out between load generators and merged back exactly."""

from __future__ import annotations

from typing import Any

import django_tasks.signals  # noqa: F401  (resets django-tasks' backends when TASKS changes)
import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import caches
from django.test import Client

from bench import load as bench_load
from bench import site as bench_site
from learning.models import Enrollment, LessonProgress, LoginSession
from tests.courses.helpers import make_tree


@pytest.fixture(autouse=True)
def _wagtail_tasks_inline(settings: Any) -> None:
    """Wagtail's own index updates run inline while the tree is built."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def bench_client(learner: dict[str, Any]) -> Client:
    """A client that sends what the load generator sends: the learner's Cookie header, and
    CSRF checks on as in a browser."""
    client = Client(enforce_csrf_checks=True)
    for pair in learner["cookie"].split("; "):
        name, _, value = pair.partition("=")
        client.cookies[name] = value
    return client


@pytest.mark.django_db
def test_make_class_learners_are_logged_in_and_enrolled() -> None:
    make_tree()
    content = bench_site.load_content()

    learners = bench_load.make_class(content.courses, 3)

    assert len(learners) == 3
    for n, learner in enumerate(learners):
        response = bench_client(learner).get("/dashboard/")
        assert (response.status_code, response.wsgi_request.user.username) == (200, f"load-learner-{n}")
    assert Enrollment.objects.filter(user__username__startswith="load-learner-",
                                     status=Enrollment.Status.ACTIVE).count() == 3 * 2  # both courses of the tree
    assert LoginSession.objects.filter(user__username__startswith="load-learner-").count() == 3


@pytest.mark.django_db
def test_make_learners_sessions_are_in_the_cache_and_the_database() -> None:
    make_tree()
    course = bench_site.load_content().courses[0]

    (user_id, key), = bench_site.make_learners([("ada", [course])])

    cached = caches[django_settings.SESSION_CACHE_ALIAS].get(KEY_PREFIX + key)
    assert cached["_auth_user_id"] == str(user_id)
    caches[django_settings.SESSION_CACHE_ALIAS].clear()
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = key
    response = client.get("/dashboard/")
    assert (response.status_code, response.wsgi_request.user.pk) == (200, user_id)


@pytest.mark.django_db
def test_make_class_learner_completes_a_lesson_with_its_csrf_secret() -> None:
    make_tree()
    learner, = bench_load.make_class(bench_site.load_content().courses, 1)
    lesson_id, lesson_url = learner["lessons"][0]

    response = bench_client(learner).post(
        "/learning/progress/", {"lesson_id": str(lesson_id), "next": "/dashboard/"},
        headers={"X-CSRFToken": learner["csrf"], "Referer": f"http://testserver{lesson_url}"},
    )

    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert LessonProgress.objects.filter(user__username="load-learner-0", lesson_id=lesson_id).count() == 1


def test_split_plan_shares_visitors_and_deals_learners() -> None:
    plan = {"seconds": 10, "visitors": 5, "learners": ["a", "b", "c"]}

    parts = bench_load.split_plan(plan, 2)

    assert [(part["visitors"], part["learners"], part["seconds"]) for part in parts] == [
        (3, ["a", "c"], 10), (2, ["b"], 10),
    ]


def test_split_plan_drops_generators_without_users() -> None:
    assert bench_load.split_plan({"visitors": 1, "learners": []}, 3) == [{"visitors": 1, "learners": []}]


def test_merge_results_pools_latencies_and_sums_counts() -> None:
    def result(latency: float, errors: int, cpu: float) -> dict[str, Any]:
        return {
            "elapsed": 10.0 + latency, "latencies": {"GET catalog": [latency]}, "errors": {"GET course": errors},
            "refused": {"GET course": 1}, "error_samples": {"GET course": f"HTTP {latency:.0f}"},
            "cache": {"hit": 2}, "ws_failed": 1, "ws_frames": 3, "cpu_seconds": cpu, "loop_lag_ms": [1.0, 2.0],
        }

    merged = bench_load.merge_results([result(1.0, 2, 5.5), result(2.0, 3, 3.0)])

    assert merged["elapsed"] == 12.0
    assert dict(merged["latencies"]) == {"GET catalog": [1.0, 2.0]}
    assert (dict(merged["errors"]), dict(merged["refused"]), dict(merged["cache"])) == (
        {"GET course": 5}, {"GET course": 2}, {"hit": 4},
    )
    assert merged["error_samples"] == {"GET course": "HTTP 1"}
    assert (merged["ws_failed"], merged["ws_frames"]) == (2, 6)
    assert merged["generators"] == [{"cpu_share": 0.5, "lag_p99_ms": 2.0}, {"cpu_share": 0.25, "lag_p99_ms": 2.0}]


def test_generators_for_one_per_thousand_users() -> None:
    assert [bench_load.generators_for(users, None) for users in (1, 1000, 1001, 2000)] == [1, 1, 2, 2]
    assert bench_load.generators_for(2000, 4) == 4


def test_memory_ratio_names_recycled_and_new_processes() -> None:
    assert [bench_load.memory_ratio(*pair) for pair in ((100.0, 105.0), (100.0, 0.0), (0.0, 90.0))] == [
        "1.050", "recycled (gone)", "new in round 2",
    ]
