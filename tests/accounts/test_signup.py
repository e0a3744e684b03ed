"""Sign-up: a new learner gets an account and a session; bad input is a 400 with nothing written."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-Horse-battery-42"
User = get_user_model()


def _signup(client: Client, username: str = "ada", email: str = "ada@example.com", **extra: str) -> Any:
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return client.post("/accounts/signup/", data)


def test_signup_creates_the_account_logs_in_and_goes_to_the_dashboard(client: Client) -> None:
    response = _signup(client)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    user = User.objects.get(username="ada")
    assert user.email == "ada@example.com"
    assert not user.is_staff
    assert client.get("/dashboard/").status_code == 200


def test_signup_follows_a_local_next_url(client: Client) -> None:
    response = _signup(client, next="/courses/?tag=python")
    assert response["Location"] == "/courses/?tag=python"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"])
def test_signup_refuses_an_offsite_next_url(client: Client, target: str) -> None:
    response = _signup(client, next=target)
    assert response["Location"] == "/dashboard/"


def test_signup_with_an_email_already_used_is_a_400_and_creates_nothing(client: Client) -> None:
    User.objects.create_user("grace", "Ada@Example.com", PASSWORD)
    response = _signup(client)
    assert response.status_code == 400
    assert "An account with this email already exists" in response.content.decode()
    assert list(User.objects.values_list("username", flat=True)) == ["grace"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"password2": "something-else-42"}, "password2"),
        ({"password1": "123", "password2": "123"}, "password2"),
        ({"email": "not-an-address"}, "email"),
        ({"username": ""}, "username"),
    ],
)
def test_signup_bad_input_is_a_400_with_the_field_error(client: Client, data: dict[str, str], field: str) -> None:
    payload = {"username": "ada", "email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD, **data}
    response = client.post("/accounts/signup/", payload)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert User.objects.count() == 0


def test_signup_page_for_a_logged_in_learner_redirects_to_the_dashboard(client: Client) -> None:
    client.force_login(User.objects.create_user("ada", "ada@example.com", PASSWORD))
    response = client.get("/accounts/signup/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_signup_double_submit_from_many_threads_makes_one_account_and_no_500() -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(6)

    def submit() -> None:
        try:
            barrier.wait()
            statuses.append(_signup(Client(raise_request_exception=False)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert User.objects.filter(username="ada").count() == 1
    assert len(statuses) == 6
    assert sorted(set(statuses)) in ([302], [302, 400])
    assert statuses.count(302) == 1


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("0", "/dashboard/"),
        ("dashboard", "/dashboard/"),
        ("//evil.example/", "/dashboard/"),
        ("/\\evil.example/", "/dashboard/"),
        ("https://evil.example/", "/dashboard/"),
        ("javascript:alert(1)", "/dashboard/"),
        ("/courses/?tag=python", "/courses/?tag=python"),
    ],
)
def test_signup_page_for_a_logged_in_learner_redirects_only_to_a_local_path(
    client: Client, target: str, location: str
) -> None:
    client.force_login(User.objects.create_user("ada", "ada@example.com", PASSWORD))
    response = client.get("/accounts/signup/", {"next": target})
    assert (response.status_code, response["Location"]) == (302, location)


@pytest.mark.parametrize("target", ["0", "dashboard", "javascript:alert(1)", "//evil.example/"])
def test_signup_post_with_an_odd_next_goes_to_the_dashboard(client: Client, target: str) -> None:
    response = _signup(client, next=target)
    assert (response.status_code, response["Location"]) == (302, "/dashboard/")
