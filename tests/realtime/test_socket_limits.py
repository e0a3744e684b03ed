"""Open WebSockets per user are capped across processes (close code 4429 past the cap); a closed
socket frees its slot at once, a dead process's slots expire; Redis down lets sockets in."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings as django_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from academy import ratelimit
from realtime.consumers import CLOSE_RATE_LIMITED
from tests.academy.ratelimit_support import STORES, dead_redis_url, use_store
from tests.realtime.conftest import World, redis_layer
from tests.realtime.support import PATIENCE, Uvicorn, communicator, receive_close, run


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    """Each test runs on the embedded store, then on Redis."""
    use_store(request.param, settings, tmp_path)
    return request.param


async def _open(path: str, session: str) -> Any:
    comm = communicator(path, session)
    connected, _ = await comm.connect()
    assert connected is True
    return comm


async def _is_refused(comm: Any) -> bool:
    """True when the server closed the socket with 4429; False when it is open and answers."""
    await comm.send_json_to({"type": "ping"})
    output = await comm.receive_output(timeout=PATIENCE)
    if output["type"] == "websocket.close":
        return output.get("code") == CLOSE_RATE_LIMITED
    assert output == {"type": "websocket.send", "text": '{"type":"pong"}'}
    return False


def _held(user_id: int) -> int:
    return ratelimit.store().slot_count(ratelimit.socket_slots_key(user_id))


def test_sockets_past_the_per_user_cap_are_closed_with_4429(world: World, settings: Any, store_kind: str) -> None:
    settings.RATELIMIT_SOCKETS_PER_USER = 3
    course = f"/ws/courses/{world.site.course.pk}/"

    async def scenario() -> None:
        # The cap counts every stream of the user together.
        sockets = [await _open(path, world.learner_session) for path in ["/ws/progress/", "/ws/notifications/", course]]
        assert [await _is_refused(comm) for comm in sockets] == [False, False, False]
        extra = communicator("/ws/progress/", world.learner_session)
        await extra.connect()
        assert await receive_close(extra) == CLOSE_RATE_LIMITED
        # Another user has slots of their own.
        other = await _open("/ws/progress/", world.other_session)
        assert await _is_refused(other) is False
        assert (_held(world.learner.pk), _held(world.other.pk)) == (3, 1)
        for comm in [*sockets, other]:
            await comm.disconnect()

    run(scenario)
    assert (_held(world.learner.pk), _held(world.other.pk)) == (0, 0)


def test_closed_sockets_free_their_slots_so_reconnects_never_pile_up(
    world: World, settings: Any, store_kind: str
) -> None:
    settings.RATELIMIT_SOCKETS_PER_USER = 2

    async def scenario() -> None:
        keep = await _open("/ws/notifications/", world.learner_session)
        for _ in range(10):
            comm = await _open("/ws/progress/", world.learner_session)
            assert await _is_refused(comm) is False
            await comm.disconnect()
        second = await _open("/ws/progress/", world.learner_session)
        third = communicator("/ws/progress/", world.learner_session)
        await third.connect()
        assert await receive_close(third) == CLOSE_RATE_LIMITED
        await second.disconnect()
        await keep.disconnect()

    run(scenario)
    assert _held(world.learner.pk) == 0


def test_sockets_are_let_in_when_redis_is_down(world: World, settings: Any) -> None:
    settings.RATELIMIT_SOCKETS_PER_USER = 1
    settings.RATELIMIT_REDIS_URL = dead_redis_url()

    async def scenario() -> None:
        sockets = [await _open("/ws/progress/", world.learner_session) for _ in range(3)]
        assert [await _is_refused(comm) for comm in sockets] == [False, False, False]
        for comm in sockets:
            await comm.disconnect()

    run(scenario)


# --- across real server processes ------------------------------------------------------------------


def _servers_env(mode: str, settings: Any) -> dict[str, str]:
    """Both servers and this process count in the same place, with a key prefix of this test."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings.RATELIMIT_KEY_PREFIX = f"{prefix}:rl"
    env = {"ACADEMY_CACHE_PREFIX": prefix, "ACADEMY_LIMIT_SOCKETS_PER_USER": "3", "ACADEMY_LIMIT_SOCKET_TTL": "6"}
    if mode == "redis":
        settings.RATELIMIT_REDIS_URL = django_settings.REDIS_URL
        env["REDIS_URL"] = django_settings.REDIS_URL
    else:
        settings.RATELIMIT_REDIS_URL = ""
        env["REDIS_URL"] = ""
    return env


async def _ws_open(server: Uvicorn, session: str) -> Any:
    return await websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/notifications/",
        origin=f"http://127.0.0.1:{server.port}",
        additional_headers={"Cookie": f"sessionid={session}"},
    )


async def _ws_refused(socket: Any) -> bool:
    try:
        await socket.send('{"type":"ping"}')
        reply = await asyncio.wait_for(socket.recv(), timeout=PATIENCE)
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code == CLOSE_RATE_LIMITED
    assert reply == '{"type":"pong"}'
    return False


@pytest.mark.parametrize("mode", STORES)
def test_two_server_processes_share_the_cap_and_a_killed_ones_slots_expire(
    world: World, settings: Any, mode: str, tmp_path: Path
) -> None:
    env = _servers_env(mode, settings)
    first = Uvicorn(tmp_path / "first.log", **env).start()
    second = Uvicorn(tmp_path / "second.log", **env).start()

    async def scenario() -> None:
        on_first = [await _ws_open(first, world.learner_session) for _ in range(2)]
        on_second = await _ws_open(second, world.learner_session)
        assert [await _ws_refused(s) for s in [*on_first, on_second]] == [False, False, False]
        assert await _ws_refused(await _ws_open(second, world.learner_session)) is True

        # The first server dies without closing anything: its two slots expire (TTL 6 s) while
        # the second server's socket keeps renewing its own.
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while _held(world.learner.pk) > 1 and loop.time() < deadline:
            await asyncio.sleep(0.2)
        assert _held(world.learner.pk) == 1
        again = [await _ws_open(second, world.learner_session) for _ in range(2)]
        assert [await _ws_refused(s) for s in again] == [False, False]
        assert await _ws_refused(await _ws_open(second, world.learner_session)) is True
        for socket in [on_second, *again]:
            await socket.close()

    try:
        run(scenario)
    finally:
        first.stop()
        second.stop()


def test_a_connect_that_fails_after_taking_a_slot_gives_it_back(world: World, settings: Any, store_kind: str) -> None:
    # A channel layer that cannot be reached: joining the groups fails after the slot was taken.
    settings.CHANNEL_LAYERS = redis_layer(dead_redis_url(), f"t{uuid.uuid4().hex[:10]}")

    async def scenario() -> None:
        comm = communicator("/ws/progress/", world.learner_session)
        with pytest.raises(RedisConnectionError):
            await comm.connect()

    run(scenario)
    assert _held(world.learner.pk) == 0
