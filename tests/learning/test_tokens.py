"""Personal access tokens: made and revoked on the account page, stored hashed, shown once,
optional expiry, last use recorded (at most once a minute); they end with the sessions (password
change or reset, "log out everywhere", deactivation) and the page lists what is active."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

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


# --- Tokens end with the sessions (issue 19, finding 6) -------------------------------------------

NEW_PASSWORD = "Another-long-passphrase-19"


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def api_status(secret: str) -> tuple[int, str]:
    """The API's answer to a call with ``secret``: (status, error code or "")."""
    response = Client().get("/api/v1/me/", **bearer(secret))
    return response.status_code, response.json().get("error", {}).get("code", "")


@pytest.fixture
def two_tokens(learner: Any, other_learner: Any) -> dict[str, str]:
    """Two tokens of the learner and one of another learner, all working."""
    made = {
        "script": tokens.token_create(user=learner, name="script").secret,
        "phone": tokens.token_create(user=learner, name="phone", expires_in_days=30).secret,
        "bob": tokens.token_create(user=other_learner, name="bob's").secret,
    }
    assert {name: api_status(secret) for name, secret in made.items()} == {name: (200, "") for name in made}
    return made


def test_password_change_ends_every_token(learner: Any, two_tokens: dict[str, str]) -> None:
    client = logged_in(learner)
    response = client.post("/accounts/password_change/", {
        "old_password": "pw", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert (response.status_code, response["Location"]) == (302, "/accounts/password_change/done/")
    assert {name: api_status(secret) for name, secret in two_tokens.items()} == {
        "script": (401, "invalid_token"), "phone": (401, "invalid_token"), "bob": (200, ""),
    }
    assert list(PersonalAccessToken.objects.values_list("name", flat=True)) == ["bob's"]
    # The session that changed the password goes on, and its tokens page shows nothing active.
    assert "data-token-empty" in client.get("/accounts/tokens/").content.decode()


def test_password_reset_ends_every_token(learner: Any, two_tokens: dict[str, str]) -> None:
    """The reset link (what the email carries), then the new password, through Django's views."""
    uid = urlsafe_base64_encode(force_bytes(learner.pk))
    link = f"/accounts/reset/{uid}/{default_token_generator.make_token(learner)}/"
    client = Client()
    form = client.get(link)
    assert form.status_code == 302
    response = client.post(form["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/accounts/reset/done/")
    assert {name: api_status(secret) for name, secret in two_tokens.items()} == {
        "script": (401, "invalid_token"), "phone": (401, "invalid_token"), "bob": (200, ""),
    }


def test_logout_everywhere_ends_every_token(learner: Any, two_tokens: dict[str, str]) -> None:
    response = logged_in(learner).post("/accounts/logout-everywhere/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert {name: api_status(secret) for name, secret in two_tokens.items()} == {
        "script": (401, "invalid_token"), "phone": (401, "invalid_token"), "bob": (200, ""),
    }


def test_deactivation_ends_every_token(learner: Any, two_tokens: dict[str, str]) -> None:
    """A deactivated account's tokens are refused, and stay ended if it is reactivated."""
    learner.is_active = False
    learner.save()
    learner.is_active = True
    learner.save()
    assert api_status(two_tokens["script"]) == (401, "invalid_token")
    assert PersonalAccessToken.objects.filter(user=learner).count() == 0


def test_saving_a_user_without_credential_changes_keeps_tokens(learner: Any, two_tokens: dict[str, str]) -> None:
    learner.first_name = "Ada"
    learner.save()
    logged_in(learner)  # a login writes last_login
    assert api_status(two_tokens["script"]) == (200, "")


def test_tokens_page_lists_what_is_active(learner: Any) -> None:
    """Active tokens, an expired one marked as such, the signed-in sessions (this one marked),
    what ends them, and the button that ends them all."""
    tokens.token_create(user=learner, name="script")
    expired = tokens.token_create(user=learner, name="old laptop", expires_in_days=1).token
    PersonalAccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    logged_in(learner)  # another device
    client = logged_in(learner)
    html = client.get("/accounts/tokens/").content.decode()
    assert html.count("data-token-id=") == 2
    assert html.count("data-token-expired") == 1 and "expired " in html
    assert html.count("<li data-login-session") == 2 and html.count("data-current-session") == 1
    assert "Changing or resetting your password and logging out everywhere end every token" in html
    assert 'action="/accounts/logout-everywhere/"' in html
