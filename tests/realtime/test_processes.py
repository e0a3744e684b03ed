"""Across processes: a push raised in another process reaches a socket (embedded relay and
Redis), and a real WebSocket client (``websockets``) talks to a real uvicorn server process."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings as django_settings

from realtime import groups
from realtime.publish import publish
from realtime.selectors import latest_event_id
from tests.realtime.conftest import MEMORY_LAYER, World, redis_layer
from tests.realtime.support import (
    PATIENCE,
    Uvicorn,
    adb,
    communicator,
    manage_shell,
    receive_event,
    resume,
    run,
)

MODES = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def _mode_env(mode: str, settings: Any) -> dict[str, str]:
    """Point this process's layer and a child's at the same place; the child's environment."""
    if mode == "memory":
        settings.CHANNEL_LAYERS = MEMORY_LAYER
        return {"REDIS_URL": ""}
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings.CHANNEL_LAYERS = redis_layer(django_settings.REDIS_URL, f"{prefix}:asgi")
    return {"REDIS_URL": django_settings.REDIS_URL, "ACADEMY_CACHE_PREFIX": prefix}


@pytest.mark.parametrize("mode", MODES)
def test_push_raised_in_another_process_reaches_the_socket(world: World, settings: Any, mode: str) -> None:
    env = _mode_env(mode, settings)
    code = (
        "from django.contrib.auth import get_user_model; from learning import services; "
        f"user = get_user_model().objects.get(pk={world.learner.pk}); "
        "note = services.notification_create(user=user, kind='announcement', title='From the worker'); "
        "print(note.pk)"
    )

    async def scenario() -> None:
        comm = communicator("/ws/notifications/", world.learner_session)
        await comm.connect()
        await resume(comm, await adb(latest_event_id)())
        note_id = int((await asyncio.to_thread(manage_shell, code, **env)).split()[-1])
        frame = await receive_event(comm)
        assert (frame["type"], frame["data"]["id"], frame["data"]["title"]) == (
            "notification.created", note_id, "From the worker",
        )
        await comm.disconnect()

    run(scenario)


async def _recv_json(socket: Any) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout=PATIENCE))


@pytest.mark.parametrize("mode", MODES)
def test_real_client_against_uvicorn_server(world: World, settings: Any, mode: str, tmp_path: Path) -> None:
    env = _mode_env(mode, settings)
    server = Uvicorn(tmp_path / "uvicorn.log", **env).start()
    ws_url = f"ws://127.0.0.1:{server.port}"
    origin = f"http://127.0.0.1:{server.port}"
    cookie = {"Cookie": f"sessionid={world.learner_session}"}

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/progress/", origin=origin, additional_headers=cookie) as socket:
            since = await adb(latest_event_id)()
            await socket.send(json.dumps({"type": "resume", "since": since}))
            assert await _recv_json(socket) == {"type": "resumed", "data": {"since": since, "replayed": 0}}
            # Published by this (test) process: another process than the server's.
            event = await adb(publish)(
                group=groups.user_progress(world.learner.pk), event_type="progress.updated", data={"n": 1}
            )
            assert await _recv_json(socket) == {"type": "progress.updated", "id": event.pk, "data": {"n": 1}}
            await socket.send("{oops")
            assert (await _recv_json(socket))["data"]["code"] == "malformed"
            await socket.send(json.dumps({"type": "ping"}))
            assert await _recv_json(socket) == {"type": "pong"}

        async with websockets.connect(f"{ws_url}/ws/progress/", origin=origin) as anonymous:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(anonymous.recv(), timeout=PATIENCE)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{ws_url}/ws/progress/", origin="https://evil.example", additional_headers=cookie)
        assert refused.value.response.status_code == 403

    try:
        run(scenario)
    finally:
        server.stop()


def test_real_server_refuses_deep_frames_and_unknown_paths_cleanly(world: World, settings: Any, tmp_path: Path) -> None:
    # Before: the nested frame dropped the connection (1006) and the unknown path was an HTTP 500
    # with "Exception in ASGI application" and its traceback in the server log.
    env = _mode_env("memory", settings)
    log = tmp_path / "uvicorn.log"
    server = Uvicorn(log, **env).start()
    ws_url = f"ws://127.0.0.1:{server.port}"
    origin = f"http://127.0.0.1:{server.port}"
    cookie = {"Cookie": f"sessionid={world.learner_session}"}

    async def scenario() -> None:
        async with websockets.connect(f"{ws_url}/ws/notifications/", origin=origin, additional_headers=cookie) as socket:
            await socket.send("[" * 4000)
            assert (await _recv_json(socket))["data"]["code"] == "malformed"
            await socket.send(json.dumps({"type": "ping"}))
            assert await _recv_json(socket) == {"type": "pong"}

        for path in ("/ws/nope/", "/ws/courses/abc/"):
            async with websockets.connect(f"{ws_url}{path}", origin=origin, additional_headers=cookie) as unknown:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(unknown.recv(), timeout=PATIENCE)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404

    try:
        run(scenario)
    finally:
        server.stop()
    text = log.read_text()
    assert ("Traceback" in text, "ERROR" in text) == (False, False), text[-3000:]
