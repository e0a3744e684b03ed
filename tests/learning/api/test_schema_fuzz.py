"""Schemathesis against /api/schema/: every operation, with generated valid and invalid input,
as an anonymous caller and as a learner with a personal access token. Every response must be
documented (status code, content type, headers) and match its schema, and none may be a 5xx.

The app runs in-process (Django's WSGI handler) on the test database: a published site with
two courses, and the token learner enrolled in one with progress and notifications. Throttle
rates are raised so the run measures the API, not the throttle (throttling has its own tests).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from learning import services, tokens
from tests.courses.helpers import make_tree

pytestmark = pytest.mark.django_db

# Generated cases per operation and caller (hypothesis examples).
CASES_PER_OPERATION = 40
HIGH_RATE = "1000000/hour"


@pytest.fixture
def api_schema(db: None, settings: Any) -> Any:
    """The schema, loaded from the app itself, over a small published site."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: HIGH_RATE for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
    }
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def learner_token(db: None) -> str:
    """A learner with an enrollment, progress and notifications; their token."""
    from django.contrib.auth import get_user_model

    tree = make_tree()
    user = get_user_model().objects.create_user("fuzzy", email="fuzzy@example.com", password="pw")
    services.enrollment_request(user=user, course=tree.python)
    services.lesson_progress_record(user=user, lesson=tree.lessons[0])
    services.notification_create(user=user, kind="announcement", title="Hello")
    return tokens.token_create(user=user, name="fuzz").secret


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ_SETTINGS = settings(
    max_examples=CASES_PER_OPERATION, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_anonymous(case: Any, learner_token: str) -> None:
    case.call_and_validate()


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_token_learner(case: Any, learner_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {learner_token}"})
