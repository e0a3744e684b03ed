"""Settings > Service accounts: site administrators make accounts for machines and their scoped
tokens (shown once); nobody else reaches the screen."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from learning.models import PersonalAccessToken, ServiceAccount

pytestmark = pytest.mark.django_db

URL = "/admin/service-accounts/"


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_superuser_makes_an_account_and_a_scoped_token_shown_once(admin_client: Client) -> None:
    moderators = Group.objects.get(name="Moderators")
    response = admin_client.post(URL, {"name": "HR sync", "username": "hr-sync", "groups": [moderators.pk]})
    assert response.status_code == 302
    account = ServiceAccount.objects.get()
    assert account.user.get_username() == "hr-sync" and not account.user.has_usable_password()
    assert list(account.user.groups.all()) == [moderators]
    prefix = f"t{account.pk}"
    made = admin_client.post(f"{URL}{account.pk}/tokens/", {f"{prefix}-name": "nightly", f"{prefix}-scopes": ["read", "enroll"],
                                                             f"{prefix}-expires_in_days": "90"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    token = PersonalAccessToken.objects.get(user=account.user)
    assert token.scopes == ["enroll", "read"] and token.expires_at is not None
    assert token.prefix in made.content.decode()
    listed = admin_client.get(URL).content.decode()
    assert "nightly" in listed and "acd_" in listed  # the prefix only: the secret is never shown again
    assert made.content.decode().count("acd_") > listed.count("acd_")
    bad = admin_client.post(f"{URL}{account.pk}/tokens/", {f"{prefix}-name": "none"})
    assert bad.status_code == 400
    assert admin_client.post(f"{URL}{account.pk}/tokens/{token.pk}/revoke/").status_code == 302
    assert not PersonalAccessToken.objects.filter(user=account.user).exists()
    taken = admin_client.post(URL, {"name": "Again", "username": "HR-SYNC"})
    assert taken.status_code == 400 and "taken" in taken.content.decode()


def test_staff_who_are_not_superusers_are_refused(staff: Any) -> None:
    client = Client()
    client.force_login(staff)
    assert client.get(URL).status_code in (302, 403)
    assert client.post(URL, {"name": "Mine", "username": "mine"}).status_code in (302, 403)
    assert not ServiceAccount.objects.exists()
    home = client.get("/admin/").content.decode()
    assert "Service accounts" not in home
