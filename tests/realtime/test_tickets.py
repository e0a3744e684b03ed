"""Apps connect with a ticket made with their token: ``POST /api/v1/socket-tickets/``, then
``/ws/...?ticket=``. A ticket works once and briefly; the socket lives as long as the token; a
ticket connection needs no Origin (native apps) but a foreign one is still refused unless it is
a configured CORS origin; cookie connections keep the same-origin rule."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core import signing
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from learning import services, tokens
from learning.models import PersonalAccessToken
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import adb, receive, receive_close, receive_event, resume, run

pytestmark = pytest.mark.usefixtures("layer")


class SignedInThePast(signing.TimestampSigner):
    """Signs with a timestamp just past a ticket's lifetime (no sleeping)."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - tokens.SOCKET_TICKET_SECONDS - 1)


def app_client(user: Any) -> tuple[APIClient, PersonalAccessToken]:
    """An API client with a fresh token of ``user``, and the token's row."""
    made = tokens.token_create(user=user, name="phone app")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    return client, made.token


def ticket_for(client: APIClient) -> str:
    response = client.post("/api/v1/socket-tickets/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_in"] == tokens.SOCKET_TICKET_SECONDS
    return body["ticket"]


def socket(path: str, ticket: str | None, origin: bytes | None = None) -> WebsocketCommunicator:
    from siteconfig.asgi import application

    headers = [(b"host", b"127.0.0.1")] + ([(b"origin", origin)] if origin else [])
    return WebsocketCommunicator(application, path if ticket is None else f"{path}?ticket={ticket}", headers=headers)


def test_a_ticket_opens_the_learners_streams_once_and_without_origin(world: World) -> None:
    client, _token = app_client(world.learner)
    ticket = ticket_for(client)

    async def scenario() -> None:
        comm = socket("/ws/progress/", ticket)
        connected, _ = await comm.connect()
        assert connected
        await resume(comm, await adb(latest_event_id)())
        await adb(services.lesson_progress_record)(user=world.learner, lesson=world.site.lessons[0], completed=True)
        frame = await receive_event(comm)
        assert (frame["type"], frame["data"]["course_id"]) == ("progress.updated", world.site.course.pk)
        await comm.disconnect()

        again = socket("/ws/progress/", ticket)  # the same ticket a second time
        connected, _ = await again.connect()
        assert connected and await receive_close(again) == 4401

    run(scenario)


def test_bad_tickets_and_foreign_origins_are_refused(world: World) -> None:
    client, _token = app_client(world.learner)
    # A genuine ticket, signed SOCKET_TICKET_SECONDS + 1 seconds ago.
    expired = SignedInThePast(salt=tokens.SOCKET_TICKET_SALT).sign_object(
        {"u": world.learner.pk, "t": None, "s": world.learner_session, "n": "old"}, compress=True
    )
    forged = ticket_for(client)[:-2] + "xx"

    async def scenario() -> None:
        for bad in (forged, "not-a-ticket", ""):
            comm = socket("/ws/notifications/", bad)
            connected, _ = await comm.connect()
            assert connected and await receive_close(comm) == 4401
        # A foreign page cannot use a ticket either, unless its origin is configured.
        foreign = socket("/ws/notifications/", await adb(ticket_for)(client), origin=b"https://evil.example")
        connected, _ = await foreign.connect()
        assert not connected
        with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
            allowed = socket("/ws/notifications/", await adb(ticket_for)(client), origin=b"https://app.example.com")
            connected, _ = await allowed.connect()
            assert connected
            await allowed.send_json_to({"type": "ping"})
            assert await receive(allowed) == {"type": "pong"}
            await allowed.disconnect()
        # Without a ticket a connection still needs the site's origin (and a session).
        bare = socket("/ws/notifications/", None)
        connected, _ = await bare.connect()
        assert not connected

    assert tokens.socket_ticket_redeem(expired) is None
    run(scenario)


def test_revoking_the_token_closes_its_socket_at_the_next_check(world: World, settings: Any) -> None:
    settings.REALTIME_SESSION_RECHECK_SECONDS = 0
    client, token = app_client(world.learner)
    ticket = ticket_for(client)

    async def scenario() -> None:
        comm = socket("/ws/progress/", ticket)
        connected, _ = await comm.connect()
        assert connected
        await resume(comm, await adb(latest_event_id)())
        assert await adb(tokens.token_revoke)(user=world.learner, token_id=token.pk)
        # The next event makes the socket check its credential: the token is gone, so it closes.
        await adb(services.lesson_progress_record)(user=world.learner, lesson=world.site.lessons[0], completed=True)
        assert await receive_close(comm) == 4401

    run(scenario)


def test_only_an_authenticated_caller_gets_a_ticket(world: World) -> None:
    response = APIClient().post("/api/v1/socket-tickets/")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    response = world.learner_client.post("/api/v1/socket-tickets/")  # the browser session, CSRF-exempt test client
    assert response.status_code == 201
    credential = tokens.socket_ticket_redeem(response.json()["ticket"])
    assert credential is not None
    assert (credential.user.pk, credential.token_id, credential.session_key) == (
        world.learner.pk, None, world.learner_session
    )


def test_an_apps_oauth_token_gets_a_ticket_whose_socket_lives_as_long_as_the_authorisation(
    world: World, settings: Any
) -> None:
    from django.contrib.auth import get_user_model

    from learning import oauth

    settings.REALTIME_SESSION_RECHECK_SECONDS = 0
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    app = oauth.application_create(by=admin, name="Phone", client_type="public",
                                   redirect_uris="https://app.example/cb").application
    token = tokens.AccessToken.objects.create(
        user=world.learner, application=app, token_checksum=tokens.digest_of("acdo_test-token"), scope="read",
        expires=timezone.now() + timedelta(hours=1),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer acdo_test-token")
    ticket = ticket_for(client)
    # Refreshing replaces the access token; the socket stays (bound to the app's authorisation).
    tokens.AccessToken.objects.filter(pk=token.pk).update(token_checksum=tokens.digest_of("acdo_refreshed"))

    async def scenario() -> None:
        comm = socket("/ws/progress/", ticket)
        connected, _ = await comm.connect()
        assert connected
        await resume(comm, await adb(latest_event_id)())
        await adb(services.lesson_progress_record)(user=world.learner, lesson=world.site.lessons[0], completed=True)
        assert (await receive_event(comm))["type"] == "progress.updated"
        # The learner revokes the app on their account page: the socket closes at its next check.
        assert await adb(oauth.authorization_revoke)(user=world.learner, application_id=app.pk)
        await adb(services.lesson_progress_record)(user=world.learner, lesson=world.site.lessons[1], completed=True)
        assert await receive_close(comm) == 4401

    run(scenario)


def test_the_live_class_stream_takes_a_personal_tokens_ticket_never_a_scoped_ones(world: World) -> None:
    """Staff watch the live class with a ticket of their personal token; a ticket made with a
    service token or an app's token (limited to scopes, none of which grants this view) is
    closed with 4403, as a stranger's would be."""
    from django.contrib.auth import get_user_model

    from learning import oauth

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    app = oauth.application_create(by=admin, name="Dashboard", client_type="public",
                                   redirect_uris="https://app.example/cb").application
    tokens.AccessToken.objects.create(
        user=world.staff, application=app, token_checksum=tokens.digest_of("acdo_staff-app"),
        scope="read enroll report", expires=timezone.now() + timedelta(hours=1),
    )
    apps_client = APIClient()
    apps_client.credentials(HTTP_AUTHORIZATION="Bearer acdo_staff-app")
    personal, _token = app_client(world.staff)
    path = f"/ws/staff/courses/{world.site.course.pk}/"
    tickets = {"personal": ticket_for(personal), "app": ticket_for(apps_client)}

    async def scenario() -> None:
        comm = socket(path, tickets["personal"])
        connected, _ = await comm.connect()
        assert connected
        await comm.send_json_to({"type": "ping"})
        assert (await receive(comm))["type"] == "pong"
        await comm.disconnect()
        refused = socket(path, tickets["app"])
        connected, _ = await refused.connect()
        assert connected and await receive_close(refused) == 4403

    run(scenario)
