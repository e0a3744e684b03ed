"""Sign-up and password-reset limits: per client address (a 429 with Retry-After) and, for
resets, per email address (past it nothing is sent and the answer is the same as a sent one);
what each does when Redis is down."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_q.brokers import Broker

from tests.academy.ratelimit_support import STORES, dead_redis_url, use_store
from tests.tasks.conftest import queued_tasks
from tests.tasks.content import make_learner

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-42"
User = get_user_model()


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


def _signup(client: Client, n: int, **meta: str) -> Any:
    data = {"username": f"user{n}", "email": f"user{n}@example.com", "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/", data, **meta)


def _reset(client: Client, email: str, **meta: str) -> Any:
    return client.post("/accounts/password_reset/", {"email": email}, **meta)


# --- sign-up -----------------------------------------------------------------------------------------


def test_signup_past_the_address_limit_is_a_429_and_creates_nothing(store_kind: str, settings: Any) -> None:
    settings.RATELIMIT_SIGNUP_ADDRESS = "3/1h"
    first = time.monotonic()
    statuses = [_signup(Client(REMOTE_ADDR="203.0.113.5"), n).status_code for n in range(3)]

    refused = _signup(Client(REMOTE_ADDR="203.0.113.5"), 3, HTTP_X_FORWARDED_FOR="192.0.2.1")

    assert statuses == [302, 302, 302]
    assert refused.status_code == 429
    # Until the first sign-up leaves the hour (however long the requests took).
    assert 3600 - (time.monotonic() - first) - 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many sign-up attempts from your network." in refused.content.decode()
    assert sorted(User.objects.values_list("username", flat=True)) == ["user0", "user1", "user2"]
    # Another address signs up as usual.
    assert _signup(Client(REMOTE_ADDR="203.0.113.6"), 4).status_code == 302


def test_signup_counts_invalid_posts_too(store_kind: str, settings: Any, client: Client) -> None:
    settings.RATELIMIT_SIGNUP_ADDRESS = "2/1h"
    bad = {"username": "x", "email": "not-an-address", "password1": "a", "password2": "b"}
    assert [client.post("/accounts/signup/", bad).status_code for _ in range(2)] == [400, 400]

    assert _signup(client, 1).status_code == 429
    assert User.objects.count() == 0
    # Showing the form is no attempt.
    assert client.get("/accounts/signup/").status_code == 200


def test_signup_fails_open_when_redis_is_down(settings: Any, client: Client) -> None:
    settings.RATELIMIT_REDIS_URL = dead_redis_url()

    response = _signup(client, 1)

    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
    assert User.objects.filter(username="user1").exists()


# --- password reset ------------------------------------------------------------------------------


def test_reset_past_the_email_limit_sends_nothing_and_answers_exactly_as_a_sent_one(
    store_kind: str, settings: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATELIMIT_RESET_EMAIL = "3/1h"
    learner = make_learner("ada")
    responses = []
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            # From four addresses: only the per-email limit is in play.
            responses.append(_reset(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), "Ada@Example.com"))

    sent, limited = responses[0], responses[3]
    assert [task["kwargs"]["user_id"] for task in queued_tasks(queue)] == [learner.pk] * 3
    assert (limited.status_code, limited["Location"]) == (sent.status_code, sent["Location"]) == (302, "/accounts/password_reset/done/")
    # Every header alike but the request's own id (a fresh one per request).
    def same_for_everyone(response: Any) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")

    assert same_for_everyone(limited) == same_for_everyone(sent)
    assert limited.content == sent.content
    # Another email address is not affected.
    make_learner("bob")
    with django_capture_on_commit_callbacks(execute=True):
        assert _reset(Client(REMOTE_ADDR="203.0.113.9"), "bob@example.com").status_code == 302
    assert len(queued_tasks(queue)) == 4


def test_reset_past_the_address_limit_is_a_429_and_sends_nothing(
    store_kind: str, settings: Any, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATELIMIT_RESET_ADDRESS = "2/1h"
    make_learner("ada")
    client = Client(REMOTE_ADDR="203.0.113.5")
    first = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        assert _reset(client, "nobody@example.com").status_code == 302
        assert _reset(client, "not-an-address").status_code == 400
        refused = _reset(client, "ada@example.com", HTTP_X_FORWARDED_FOR="192.0.2.7")

    assert refused.status_code == 429
    assert 3600 - (time.monotonic() - first) - 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many password reset requests from your network." in refused.content.decode()
    assert queued_tasks(queue) == []


def test_reset_fails_closed_with_a_503_when_redis_is_down(
    settings: Any, client: Client, queue: Broker, django_capture_on_commit_callbacks: Any
) -> None:
    settings.RATELIMIT_REDIS_URL = dead_redis_url()
    make_learner("ada")

    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(client, "ada@example.com")

    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert "This is temporarily unavailable" in response.content.decode()
    assert queued_tasks(queue) == []


def test_wagtail_admin_reset_form_shares_the_reset_limits(store_kind: str, settings: Any, mailoutbox: list[Any]) -> None:
    settings.RATELIMIT_RESET_EMAIL = "2/1h"
    settings.RATELIMIT_RESET_ADDRESS = "3/1h"
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    # One reset through the learners' form (queued, not in the outbox) counts for the email too.
    assert _reset(Client(REMOTE_ADDR="203.0.113.1"), "root@example.com").status_code == 302
    client = Client(REMOTE_ADDR="203.0.113.5")

    statuses = [client.post("/admin/password_reset/", {"email": "root@example.com"}) for _ in range(3)]
    refused = client.post("/admin/password_reset/", {"email": "someone@example.com"})

    assert [(r.status_code, r["Location"]) for r in statuses] == [(302, "/admin/password_reset/done/")] * 3
    assert [message.to for message in mailoutbox] == [["root@example.com"]]
    assert refused.status_code == 429


def test_sixty_learners_join_from_one_address_in_ten_minutes_with_the_defaults(store_kind: str) -> None:
    # A class signs up in one lesson behind the school's address; some get the form wrong once.
    school = {"REMOTE_ADDR": "203.0.113.10"}
    mistakes = [
        Client(**school).post("/accounts/signup/", {"username": f"user{n}", "email": "x", "password1": "a"}).status_code
        for n in range(30)
    ]

    statuses = [_signup(Client(**school), n).status_code for n in range(60)]

    assert mistakes == [400] * 30
    assert statuses == [302] * 60
    assert User.objects.count() == 60


@pytest.mark.parametrize("proxies", [0, 1])
def test_signup_counts_the_forwarded_address_only_behind_a_proxy(store_kind: str, settings: Any, proxies: int) -> None:
    settings.NUM_PROXIES = proxies
    settings.RATELIMIT_SIGNUP_ADDRESS = "2/10m"
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(2):
        assert _signup(Client(**proxy), n, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 302

    other_school = _signup(Client(**proxy), 2, HTTP_X_FORWARDED_FOR="203.0.113.20").status_code

    # Behind one proxy, another school is another address; without one, X-Forwarded-For is
    # anyone's to write, so every request is the proxy's own.
    assert other_school == (302 if proxies else 429)
