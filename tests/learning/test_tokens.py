"""Personal access tokens: made and revoked on the account page, stored hashed, shown once,
optional expiry, last use recorded (at most once a minute)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from learning import tokens
from learning.models import PersonalAccessToken
from tests.courses.helpers import logged_in

pytestmark = pytest.mark.django_db


def test_token_is_stored_as_its_digest_only(learner: Any) -> None:
    made = tokens.token_create(user=learner, name="grading script", expires_in_days=30)
    row = PersonalAccessToken.objects.get()
    assert made.secret.startswith("acd_") and len(made.secret) == 4 + 43
    assert row.digest == hashlib.sha256(made.secret.encode()).hexdigest()
    assert row.prefix == made.secret[:10]
    assert made.secret not in {row.name, row.prefix, row.digest}
    assert timedelta(days=29, hours=23) < row.expires_at - row.created_at <= timedelta(days=30)


@pytest.mark.parametrize(
    ("name", "days"), [("", None), ("  ", None), ("x" * 101, None), ("ok", 0), ("ok", 367), ("ok", True), ("ok", "7")]
)
def test_token_create_refuses_bad_input(learner: Any, name: str, days: Any) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.token_create(user=learner, name=name, expires_in_days=days)
    assert PersonalAccessToken.objects.count() == 0


def test_token_create_limit_per_user(learner: Any) -> None:
    for i in range(tokens.MAX_TOKENS_PER_USER):
        tokens.token_create(user=learner, name=f"t{i}")
    with pytest.raises(tokens.TokenError, match="revoke one first"):
        tokens.token_create(user=learner, name="one more")
    assert PersonalAccessToken.objects.count() == tokens.MAX_TOKENS_PER_USER


def test_last_use_is_written_at_most_once_a_minute(learner: Any) -> None:
    made = tokens.token_create(user=learner, name="script")
    now = timezone.now()
    with CaptureQueriesContext(connection) as first:
        user, token = tokens.token_authenticate(made.secret, now=now)
    assert (user.pk, token.pk, len(first)) == (learner.pk, made.token.pk, 2)
    assert PersonalAccessToken.objects.get().last_used_at == now
    tokens.token_authenticate(made.secret, now=now + timedelta(seconds=30))
    assert PersonalAccessToken.objects.get().last_used_at == now
    later = now + timedelta(minutes=2)
    tokens.token_authenticate(made.secret, now=later)
    assert PersonalAccessToken.objects.get().last_used_at == later


def test_expired_token_is_refused(learner: Any) -> None:
    made = tokens.token_create(user=learner, name="script", expires_in_days=1)
    with pytest.raises(tokens.TokenExpired):
        tokens.token_authenticate(made.secret, now=timezone.now() + timedelta(days=1, seconds=1))


def test_account_page_makes_a_token_and_shows_it_once(learner: Any) -> None:
    client = logged_in(learner)
    response = client.post("/accounts/tokens/", {"name": "grading script", "expires_in_days": "30"})
    html = response.content.decode()
    row = PersonalAccessToken.objects.get()
    start = html.index("<code data-token-secret>") + len("<code data-token-secret>")
    secret = html[start : html.index("</code>", start)]
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    again = client.get("/accounts/tokens/").content.decode()
    assert secret not in again
    assert f"<code>{row.prefix}…</code>" in again and "grading script" in again and "never used" in again
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    assert "last used" in client.get("/accounts/tokens/").content.decode()


@pytest.mark.parametrize("data", [{"name": ""}, {"name": "x" * 101}, {"name": "ok", "expires_in_days": "12"}])
def test_account_page_bad_input_is_400(learner: Any, data: dict[str, str]) -> None:
    response = logged_in(learner).post("/accounts/tokens/", data)
    assert response.status_code == 400
    assert "data-token-secret" not in response.content.decode()
    assert PersonalAccessToken.objects.count() == 0


def test_revoke_own_token_only(learner: Any, other_learner: Any) -> None:
    mine = tokens.token_create(user=learner, name="mine")
    theirs = tokens.token_create(user=other_learner, name="theirs")
    client = logged_in(learner)
    response = client.post(f"/accounts/tokens/{theirs.token.pk}/revoke/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/tokens/")
    assert PersonalAccessToken.objects.filter(pk=theirs.token.pk).exists()
    assert "theirs" not in client.get("/accounts/tokens/").content.decode()
    client.post(f"/accounts/tokens/{mine.token.pk}/revoke/")
    assert list(PersonalAccessToken.objects.values_list("name", flat=True)) == ["theirs"]
    assert client.get(f"/accounts/tokens/{mine.token.pk}/revoke/").status_code == 405


def test_account_page_needs_login(client: Any) -> None:
    response = client.get("/accounts/tokens/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/accounts/tokens/")
