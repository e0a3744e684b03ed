"""Sessions end when they should: a password change, a deactivation or "log out everywhere"
closes every socket of the user at once (4401) and the old sessions no longer work over HTTP.
Each runs on the embedded layer with the outbox relay and, marked ``redis``, on channels_redis."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from learning.models import LoginSession
from realtime.selectors import latest_event_id
from tests.realtime.conftest import World
from tests.realtime.support import (
    PASSWORD,
    adb,
    communicator,
    login_cookie,
    receive,
    receive_close,
    resume,
    run,
)

pytestmark = pytest.mark.usefixtures("layer")
NEW_PASSWORD = "another-horse-staple-42"


async def open_socket(path: str, session_key: str) -> Any:
    """A connected, resumed socket."""
    comm = communicator(path, session_key)
    connected, _ = await comm.connect()
    assert connected
    await resume(comm, await adb(latest_event_id)())
    return comm


async def still_open(comm: Any) -> bool:
    """Whether the socket answers a ping."""
    await comm.send_json_to({"type": "ping"})
    return await receive(comm) == {"type": "pong"}


def test_password_change_closes_every_socket_of_the_user_at_once(world: World) -> None:
    other_device, other_session = login_cookie(world.learner)

    async def scenario() -> None:
        this_tab = await open_socket("/ws/notifications/", world.learner_session)
        other_tab = await open_socket("/ws/progress/", other_session)
        course = await open_socket(f"/ws/courses/{world.site.course.pk}/", other_session)
        bystander = await open_socket("/ws/notifications/", world.other_session)
        response = await adb(world.learner_client.post)(
            "/accounts/password_change/",
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert (response.status_code, response["Location"]) == (302, "/accounts/password_change/done/")
        assert [await receive_close(comm) for comm in (this_tab, other_tab, course)] == [4401, 4401, 4401]
        assert await still_open(bystander)
        await bystander.disconnect()
        # The other device's session is refused over HTTP and on a new socket; this one continues.
        assert (await adb(other_device.get)("/dashboard/")).status_code == 302
        assert (await adb(world.learner_client.get)("/dashboard/")).status_code == 200
        again = communicator("/ws/progress/", other_session)
        await again.connect()
        assert await receive_close(again) == 4401

    run(scenario)


def test_deactivation_closes_every_socket_of_the_user(world: World) -> None:
    async def scenario() -> None:
        comm = await open_socket("/ws/notifications/", world.learner_session)
        user = await adb(get_user_model().objects.get)(pk=world.learner.pk)
        user.is_active = False
        await adb(user.save)()
        assert await receive_close(comm) == 4401
        assert (await adb(world.learner_client.get)("/dashboard/")).status_code == 302

    run(scenario)


def test_saving_other_fields_leaves_sockets_open(world: World) -> None:
    async def scenario() -> None:
        comm = await open_socket("/ws/notifications/", world.learner_session)
        user = await adb(get_user_model().objects.get)(pk=world.learner.pk)
        user.first_name = "Ada"
        await adb(user.save)()
        assert await still_open(comm)
        await comm.disconnect()

    run(scenario)


def test_logout_everywhere_ends_every_session_including_this_one(world: World) -> None:
    other_device, other_session = login_cookie(world.learner)

    async def scenario() -> None:
        sockets = [
            await open_socket("/ws/notifications/", world.learner_session),
            await open_socket("/ws/progress/", other_session),
        ]
        bystander = await open_socket("/ws/notifications/", world.other_session)
        response = await adb(world.learner_client.post)("/accounts/logout-everywhere/")
        assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
        assert [await receive_close(comm) for comm in sockets] == [4401, 4401]
        assert await still_open(bystander)
        await bystander.disconnect()
        for client in (world.learner_client, other_device):
            assert (await adb(client.get)("/dashboard/")).status_code == 302
        assert await adb(LoginSession.objects.filter(user_id=world.learner.pk).count)() == 0
        assert await adb(LoginSession.objects.filter(user_id=world.other.pk).count)() == 1

    run(scenario)


def test_logout_everywhere_needs_a_post_and_a_login(world: World) -> None:
    assert world.learner_client.get("/accounts/logout-everywhere/").status_code == 405
    response = Client().post("/accounts/logout-everywhere/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/accounts/logout-everywhere/")
    assert world.learner_client.get("/dashboard/").status_code == 200
