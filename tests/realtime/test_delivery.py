"""Delivery guarantees: a full channel drops only its own frames, a Redis restart loses nothing,
the outbox is pruned on a schedule, and a push survives a dead channel layer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings
from django.utils import timezone

from academy.schedules import declared_schedules
from realtime import groups
from realtime.models import Event
from realtime.publish import publish
from realtime.selectors import events_after, latest_event_id
from realtime.tasks import SCHEDULES, prune_outbox
from tests.realtime.conftest import World, redis_layer
from tests.realtime.support import PrivateRedis, adb, communicator, receive_event, resume, run

SMALL_CAPACITY = 3


def _publish_progress(user_id: int, n: int) -> Event:
    return publish(group=groups.user_progress(user_id), event_type="progress.updated", data={"n": n})


@pytest.mark.parametrize("layer_kind", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_full_channel_drops_only_its_own_frames(world: World, settings: Any, layer_kind: str) -> None:
    if layer_kind == "redis":
        config = redis_layer(django_settings.REDIS_URL, f"t{uuid.uuid4().hex[:10]}", capacity=SMALL_CAPACITY)
    else:
        config = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": SMALL_CAPACITY}}}
    settings.CHANNEL_LAYERS = config
    uid = world.learner.pk

    async def scenario() -> None:
        healthy = communicator("/ws/progress/", world.learner_session)
        await healthy.connect()
        since = await adb(latest_event_id)()
        await resume(healthy, since)
        layer = get_channel_layer()
        # A socket that stopped reading: its channel is in the group, nobody receives from it.
        stalled = await layer.new_channel()
        await layer.group_add(groups.user_progress(uid), stalled)
        remote = None
        if layer_kind == "redis":
            # A whole server process that stopped reading (its own Redis key fills up).
            remote = RedisChannelLayer(**config["default"]["CONFIG"])
            remote_channel = await remote.new_channel()
            await remote.group_add(groups.user_progress(uid), remote_channel)
        published = []
        for n in range(1, 11):
            published.append((await adb(_publish_progress)(uid, n)).pk)
            # The healthy socket gets every one of them, in order, while the others are full.
            assert (await receive_event(healthy))["id"] == published[-1]
        kept = []
        while True:
            try:
                kept.append((await asyncio.wait_for(layer.receive(stalled), timeout=0.5))["id"])
            except TimeoutError:
                break
        # In-memory: the first frames fit, later ones are refused; channels_redis: the socket's
        # bounded buffer keeps the newest. Either way only `capacity` frames, only for it.
        expected = published[:SMALL_CAPACITY] if layer_kind == "memory" else published[-SMALL_CAPACITY:]
        assert kept == expected
        if remote is not None:
            remote_kept = []
            while True:
                try:
                    remote_kept.append((await asyncio.wait_for(remote.receive(remote_channel), timeout=0.5))["id"])
                except TimeoutError:
                    break
            assert remote_kept == published[:SMALL_CAPACITY]
            await remote.flush()
        # What they missed is stored: a resume from their last frame returns the rest.
        missed = await adb(events_after)(groups=[groups.user_progress(uid)], since=kept[-1], limit=100)
        assert [event_id for event_id, _ in missed] == [i for i in published if i > kept[-1]]
        await healthy.disconnect()
        if layer_kind == "redis":
            await layer.flush()

    run(scenario)


@pytest.mark.redis
def test_redis_restart_mid_stream_clients_reconnect_and_lose_nothing(
    world: World, settings: Any, tmp_path: Path
) -> None:
    server = PrivateRedis(tmp_path).start()
    settings.CHANNEL_LAYERS = redis_layer(server.url, "restart")
    uid = world.learner.pk

    async def scenario() -> None:
        first = communicator("/ws/progress/", world.learner_session)
        await first.connect()
        await resume(first, await adb(latest_event_id)())
        seen = (await adb(_publish_progress)(uid, 1)).pk
        assert (await receive_event(first))["id"] == seen

        server.stop()
        # Published while Redis is down: stored, the live send fails quietly.
        during = [(await adb(_publish_progress)(uid, n)).pk for n in (2, 3)]
        # The socket's consumer loses its layer connection and the socket drops.
        with pytest.raises(Exception):
            while True:
                await first.receive_output(timeout=30)
        server.start()
        after = (await adb(_publish_progress)(uid, 4)).pk

        second = communicator("/ws/progress/", world.learner_session)
        await second.connect()
        frames = await resume(second, seen)
        assert [f.get("id") for f in frames] == [*during, after, None]
        live = (await adb(_publish_progress)(uid, 5)).pk
        assert (await receive_event(second))["id"] == live
        await second.disconnect()
        await get_channel_layer().flush()

    try:
        run(scenario)
    finally:
        server.stop()


def test_publish_with_channel_layer_down_stores_the_event(world: World, settings: Any, tmp_path: Path) -> None:
    settings.CHANNEL_LAYERS = redis_layer("redis://127.0.0.1:1/0", "down")
    event = _publish_progress(world.learner.pk, 1)
    assert list(Event.objects.filter(pk=event.pk).values_list("type", "data")) == [("progress.updated", {"n": 1})]


@pytest.mark.django_db
def test_prune_outbox_deletes_only_rows_older_than_retention(settings: Any) -> None:
    settings.REALTIME_OUTBOX_RETENTION_HOURS = 48
    old = Event.objects.create(group="course.1", type="course.updated", data={}, created_at=timezone.now() - timedelta(hours=49))
    recent = Event.objects.create(group="course.1", type="course.updated", data={}, created_at=timezone.now() - timedelta(hours=47))
    assert prune_outbox() == 1
    assert list(Event.objects.values_list("id", flat=True)) == [recent.pk]
    assert old.pk < recent.pk
    assert prune_outbox() == 0


def test_prune_outbox_is_a_declared_schedule() -> None:
    assert SCHEDULES[0].func == "realtime.tasks.prune_outbox"
    assert declared_schedules()["academy:realtime:prune-outbox"] == SCHEDULES[0]
